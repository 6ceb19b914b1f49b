// SPDX-License-Identifier: GPL-2.0
/* Replicated remote tiers over RDMA (rxe0): see emp_replica_test.c. */
#define EMP_REMOTE_RDMA 1
#include "emp_replica_test.c"
