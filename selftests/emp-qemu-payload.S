/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test payload of emp-qemu (selftests/guest/emp_qemu.sh): a 64 KiB image
 * for QEMU's -bios (pc machine), no SeaBIOS needed. From the reset vector it
 * enters 32-bit protected mode (flat, no paging), reads the RAM size from
 * the CMOS (64 KiB units above 16 MiB: RAM must be more than 16 MiB),
 * writes dword [a] = a ^ SEED over [1 MiB, end of RAM), reads it all back,
 * and reports on COM1 ("EMP-PAYLOAD OK" / "EMP-PAYLOAD BAD") and through
 * isa-debug-exit at port 0xf4: QEMU exits with 33 when all is well, 35 when
 * a word was wrong.
 *
 * Built with: as --32 -o x.o emp-qemu-payload.S && objcopy -O binary x.o x.bin
 */
	.set	BASE, 0xffff0000	/* the 64 KiB image ends at 4 GiB */
	.set	SEED, 0x3c5aa5c3
	.set	COM1, 0x3f8
	.set	EXIT_PORT, 0xf4

	.text
	.code16
start:
	cli
	cld
	lgdtl	%cs:(gdt_desc - start)
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $(pm32 - start + BASE)

	.code32
pm32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x90000, %esp	/* stack in low RAM, below the data */
	mov	$(msg_hi - start + BASE), %esi
	call	puts
	/* end of RAM = 16 MiB + CMOS[0x35:0x34] * 64 KiB */
	mov	$0x35, %al
	out	%al, $0x70
	in	$0x71, %al
	mov	%al, %ah
	mov	$0x34, %al
	out	%al, $0x70
	in	$0x71, %al
	movzwl	%ax, %ebx
	shl	$16, %ebx
	add	$0x1000000, %ebx
	mov	$0x100000, %edi
	mov	$SEED, %edx

	mov	%edi, %ecx
1:	mov	%ecx, %eax
	xor	%edx, %eax
	mov	%eax, (%ecx)
	add	$4, %ecx
	cmp	%ebx, %ecx
	jb	1b

	mov	%edi, %ecx
2:	mov	%ecx, %eax
	xor	%edx, %eax
	cmp	%eax, (%ecx)
	jne	bad
	add	$4, %ecx
	cmp	%ebx, %ecx
	jb	2b

	mov	$(msg_ok - start + BASE), %esi
	call	puts
	mov	$0x10, %al
	out	%al, $EXIT_PORT
3:	hlt
	jmp	3b

bad:
	mov	$(msg_bad - start + BASE), %esi
	call	puts
	mov	$0x11, %al
	out	%al, $EXIT_PORT
4:	hlt
	jmp	4b

/* Write the NUL-terminated string at %esi to COM1. */
puts:
	mov	$COM1, %dx
5:	lodsb
	test	%al, %al
	jz	6f
	out	%al, %dx
	jmp	5b
6:	ret

msg_hi:	.asciz	"EMP-PAYLOAD START\n"
msg_ok:	.asciz	"EMP-PAYLOAD OK\n"
msg_bad: .asciz	"EMP-PAYLOAD BAD\n"

	.p2align 3
gdt:
	.quad	0
	/* Accessed bits set: the CPU would write them into the GDT, which is ROM
	 * (a read-only memory slot under KVM). */
	.quad	0x00cf9b000000ffff	/* 0x08: code, flat, 32-bit */
	.quad	0x00cf93000000ffff	/* 0x10: data, flat */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt - start + BASE

	/* The reset vector: CS base 0xffff0000, IP 0xfff0. */
	.org	0xfff0
	.code16
	jmp	start
	.org	0x10000, 0xf4
