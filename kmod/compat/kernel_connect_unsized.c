/* SPDX-License-Identifier: GPL-2.0 */
/* HAVE_KERNEL_CONNECT_UNSIZED: kernel_connect() takes a struct
 * sockaddr_unsized * (7.x); before, a struct sockaddr *. */
#include <linux/net.h>
#include <linux/socket.h>
int emp_probe(struct socket *sock, struct sockaddr_unsized *a, int len);
int emp_probe(struct socket *sock, struct sockaddr_unsized *a, int len)
{
	return kernel_connect(sock, a, len, 0);
}
