// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the nested Linux guest of selftests/guest/vm_balloon.sh: a static
 * program, the only one in its initramfs (scripts/mkinitramfs.sh builds it).
 *
 * It mounts devtmpfs, proc and sysfs, loads the modules listed in /modules
 * (virtio_balloon and what it needs, in load order), waits for the balloon
 * driver to bind, then takes commands, one a line, on the second serial
 * port (ttyS1, which the test connects to a pipe), and answers each with
 * one line there:
 *
 *   touch N   map N MiB of anonymous memory and write every byte of it
 *             -> "touched N MemFree KIB"
 *   free      unmap it: its pages go back to the page allocator, which
 *             reports them to the balloon device once merged into large
 *             enough free blocks -> "freed MemFree KIB"
 *   mem       -> "mem MemFree KIB"
 *   off       power off (QEMU exits)
 *
 * The first line, once the balloon driver is bound, is "ready MemFree KIB";
 * a failure is "error WHAT: ERRNO TEXT", after which the guest powers off.
 * The kernel's console stays on ttyS0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define MIB		(1UL << 20)
#define CTL_TTY		"/dev/ttyS1"
#define BALLOON_DRV	"/sys/bus/virtio/drivers/virtio_balloon"

static FILE *ctl;

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(ctl, fmt, ap);
	va_end(ap);
	fputc('\n', ctl);
	fflush(ctl);
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void fail(const char *what)
{
	say("error %s: %d %s", what, errno, strerror(errno));
	power_off();
}

/* MemFree of /proc/meminfo in KiB, or -1. */
static long mem_free(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Load every module named in /modules, in the order given there. */
static void load_modules(void)
{
	char path[256];
	FILE *list = fopen("/modules", "r");

	if (!list)
		return;		/* everything needed is built in */
	while (fgets(path, sizeof(path), list)) {
		int fd;

		path[strcspn(path, "\n")] = 0;
		if (!path[0])
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(path);
		if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST)
			fail(path);
		close(fd);
	}
	fclose(list);
}

/* Has the balloon driver bound a device (a virtioN link in its directory)? */
static int balloon_bound(void)
{
	struct dirent *e;
	int found = 0;
	DIR *d = opendir(BALLOON_DRV);

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "virtio", 6))
			found = 1;
	closedir(d);
	return found;
}

static FILE *open_ctl(void)
{
	struct termios t;
	int fd = open(CTL_TTY, O_RDWR | O_NOCTTY);

	if (fd < 0)
		return NULL;
	/* Raw: no echo, no line editing, no newline translation. */
	if (!tcgetattr(fd, &t)) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	return fdopen(fd, "r+");
}

/* Read one command line; raw mode hands it over byte by byte. */
static int read_cmd(char *buf, size_t len)
{
	size_t n = 0;
	int c;

	while ((c = fgetc(ctl)) != EOF) {
		if (c == '\r' || c == '\n') {
			if (!n)
				continue;
			break;
		}
		if (n + 1 < len)
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return c == EOF && !n ? -1 : 0;
}

int main(void)
{
	char cmd[64];
	char *mem = NULL;
	size_t len = 0;
	unsigned long mib;
	int i;

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	ctl = open_ctl();
	if (!ctl) {
		/* No control port: say so on the console, where the test shows it. */
		dprintf(open("/dev/console", O_WRONLY), "balloon-init: %s: %s\n", CTL_TTY,
			strerror(errno));
		power_off();
	}
	setvbuf(ctl, NULL, _IONBF, 0);
	load_modules();
	for (i = 0; i < 300 && !balloon_bound(); i++)
		usleep(100000);
	if (!balloon_bound()) {
		errno = ENODEV;
		fail("no device bound to virtio_balloon");
	}
	say("ready MemFree %ld", mem_free());

	while (!read_cmd(cmd, sizeof(cmd))) {
		if (sscanf(cmd, "touch %lu", &mib) == 1 && !mem && mib) {
			len = mib * MIB;
			mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (mem == MAP_FAILED)
				fail("mmap");
			/* Not zeros: the pages must hold data to lose. */
			memset(mem, 0x5a, len);
			say("touched %lu MemFree %ld", mib, mem_free());
		} else if (!strcmp(cmd, "free") && mem) {
			munmap(mem, len);
			mem = NULL;
			say("freed MemFree %ld", mem_free());
		} else if (!strcmp(cmd, "mem")) {
			say("mem MemFree %ld", mem_free());
		} else if (!strcmp(cmd, "off")) {
			power_off();
		} else {
			say("error unknown command '%s'", cmd);
		}
	}
	power_off();
	return 0;
}
