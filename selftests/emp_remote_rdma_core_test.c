// SPDX-License-Identifier: GPL-2.0
/*
 * The RDMA build of the remote-tier selftests without their data-integrity
 * matrix: the debug line's rdma_tier.sh runs this one (the matrix took 59 of
 * its 157 s under KASAN; the stock lines run it whole, and the debug line's
 * fault-injection pass runs emp_remote_rdma_test whole).
 */
#define EMP_REMOTE_RDMA 1
#define EMP_REMOTE_NO_MATRIX 1
#include "emp_remote_test.c"
