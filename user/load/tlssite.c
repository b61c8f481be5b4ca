// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tlssite.c - the load stage finds where in a TLS library the loader puts
 * its SSL_write hooks.
 *
 * What a uprobe costs depends on the instruction it replaces. The kernel
 * emulates a few kinds (a push, a call, a jump) at the breakpoint's trap;
 * any other it executes out of line, single-stepped, which costs a
 * second trap (make bench's floors: docs/counting.md). OpenSSL 3.0's
 * SSL_write and SSL_write_ex begin by moving the stack pointer
 * (sub $n,%rsp), which is single-stepped; both then call
 * ssl_write_internal(ssl, buf, num, size_t *written), which begins with a
 * push. One pair of hooks there (entry and return) sees every write of
 * both, with the arguments and return of SSL_write_ex, for a fraction of
 * the cost of hooking them (docs/counting.md, "Calls over TLS").
 *
 * ssl_write_internal is not exported: it is found as the function that
 * SSL_write and SSL_write_ex both call first, decoding their prologues.
 * Its arguments are OpenSSL's own business, so this is done only in a
 * library whose layout is known: a libssl of the 3.0 series, whose only
 * symbol version is OPENSSL_3.0.0 (later series add versions, and 3.3's
 * ssl_write_internal takes another argument). In any other library the
 * loader hooks SSL_write and SSL_write_ex themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "load/tlssite.h"

/* Bytes of a prologue decoded at most. */
#define PROLOGUE_MAX 64

/* Length of the ModRM operand (ModRM, SIB, displacement) at @p, 0 when
 * it does not fit in @left bytes. */
static size_t modrm_len(const unsigned char *p, size_t left)
{
	unsigned int mod, rm;
	size_t n = 1;

	if (!left)
		return 0;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (left < 2)
			return 0;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;
	} else if (mod == 0 && rm == 5) {
		n += 4;		/* RIP-relative */
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n <= left ? n : 0;
}

/* Length of what follows the escape byte 0x0f at @p (the second opcode
 * byte and its operands), 0 when not one decoded. */
static size_t twobyte_len(const unsigned char *p, size_t left)
{
	size_t m;

	if (!left)
		return 0;
	if (p[0] >= 0x80 && p[0] <= 0x8f)		/* jcc rel32 */
		return left >= 5 ? 5 : 0;
	if (p[0] == 0x1f ||				/* nop r/m */
	    (p[0] >= 0x40 && p[0] <= 0x4f) ||		/* cmovcc */
	    p[0] == 0xb6 || p[0] == 0xb7 ||		/* movzx */
	    p[0] == 0xbe || p[0] == 0xbf) {		/* movsx */
		m = modrm_len(p + 1, left - 1);
		return m ? 1 + m : 0;
	}
	return 0;
}

int tls_first_call(const unsigned char *code, size_t len, long *target)
{
	size_t i = 0;

	while (i < len) {
		const unsigned char *p = code + i;
		size_t left = len - i, pre = 0, n, rest;
		const unsigned char *q;
		bool rexw = false;
		int32_t rel;

		if (left >= 4 && p[0] == 0xf3 && p[1] == 0x0f &&
		    p[2] == 0x1e && p[3] == 0xfa) {
			i += 4;				/* endbr64 */
			continue;
		}
		if (p[0] == 0x64 || p[0] == 0x65)	/* %fs:, %gs: */
			pre++;
		if (pre < left && (p[pre] & 0xf0) == 0x40) {
			rexw = p[pre] & 8;
			pre++;
		}
		if (pre >= left)
			return -1;
		q = p + pre + 1;
		rest = left - pre - 1;
		switch (p[pre]) {
		case 0xe8:				/* call rel32 */
			if (pre || rest < 4)
				return -1;
			rel = (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 |
					(uint32_t)q[2] << 16 |
					(uint32_t)q[3] << 24);
			*target = (long)i + 5 + rel;
			return 0;
		case 0x50 ... 0x57:			/* push */
			n = 0;
			break;
		case 0x70 ... 0x7f:			/* jcc rel8 */
			n = 1;
			break;
		case 0x01: case 0x03: case 0x09: case 0x0b:
		case 0x21: case 0x23: case 0x29: case 0x2b:
		case 0x31: case 0x33: case 0x39: case 0x3b:
		case 0x63: case 0x84: case 0x85: case 0x88:
		case 0x89: case 0x8a: case 0x8b: case 0x8d:
			n = modrm_len(q, rest);
			if (!n)
				return -1;
			break;
		case 0x80: case 0x83: case 0xc6:	/* r/m, imm8 */
			n = modrm_len(q, rest);
			if (!n)
				return -1;
			n += 1;
			break;
		case 0x81: case 0xc7:			/* r/m, imm32 */
			n = modrm_len(q, rest);
			if (!n)
				return -1;
			n += 4;
			break;
		case 0xb8 ... 0xbf:			/* mov imm, reg */
			n = rexw ? 8 : 4;
			break;
		case 0x0f:
			n = twobyte_len(q, rest);
			if (!n)
				return -1;
			break;
		default:
			return -1;
		}
		if (n > rest)
			return -1;
		i += pre + 1 + n;
	}
	return -1;
}

/* The file offset of virtual address @addr in an executable segment of
 * @e, and the bytes of that segment from it in *@room; -1 if none. */
static long exec_offset(Elf *e, GElf_Addr addr, size_t *room)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_X))
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz) {
			*room = ph.p_vaddr + ph.p_filesz - addr;
			return (long)(addr - ph.p_vaddr + ph.p_offset);
		}
	}
	return -1;
}

/* Whether the symbol versions @e defines are OPENSSL_3.0.0 alone. */
static bool openssl_30(Elf *e, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Verdef vd;
	GElf_Verdaux va;
	size_t at = 0, k;
	int named = 0;
	const char *name;

	if (!d)
		return false;
	for (k = 0; k < sh->sh_info; k++) {
		if (!gelf_getverdef(d, at, &vd) ||
		    !gelf_getverdaux(d, at + vd.vd_aux, &va))
			return false;
		name = elf_strptr(e, sh->sh_link, va.vda_name);
		if (!name)
			return false;
		if (!(vd.vd_flags & VER_FLG_BASE)) {
			if (strcmp(name, "OPENSSL_3.0.0"))
				return false;
			named++;
		}
		if (!vd.vd_next)
			break;
		at += vd.vd_next;
	}
	return named == 1;
}

/* The .text section's address range, into @lo and @hi. */
static bool text_range(Elf *e, GElf_Addr *lo, GElf_Addr *hi)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstr;
	const char *name;

	if (elf_getshdrstrndx(e, &shstr))
		return false;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return false;
		name = elf_strptr(e, shstr, sh.sh_name);
		if (name && !strcmp(name, ".text")) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
			return true;
		}
	}
	return false;
}

/* The addresses of SSL_write (@fn[0]) and SSL_write_ex (@fn[1]) in the
 * dynamic symbol table, and whether the file is of the 3.0 series. */
static int find_writers(Elf *e, GElf_Addr fn[2])
{
	static const char *const names[2] = { "SSL_write", "SSL_write_ex" };
	Elf_Scn *scn = NULL;
	bool series = false;
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf_Data *d;
	size_t i, n;
	int k;

	fn[0] = fn[1] = 0;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOENT;
		if (sh.sh_type == SHT_GNU_verdef) {
			series = openssl_30(e, scn, &sh);
			continue;
		}
		if (sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			return -ENOENT;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			const char *name;

			if (!gelf_getsym(d, i, &sym) ||
			    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			for (k = 0; name && k < 2; k++)
				if (!strcmp(name, names[k]))
					fn[k] = sym.st_value;
		}
	}
	return series && fn[0] && fn[1] ? 0 : -ENOENT;
}

int tls_write_site(const char *path, unsigned long *off)
{
	unsigned char code[PROLOGUE_MAX];
	GElf_Addr fn[2], callee[2], lo, hi;
	int fd, err = -ENOENT, k;
	GElf_Ehdr eh;
	size_t room;
	long at, t;
	ssize_t got;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    eh.e_machine != EM_X86_64 || find_writers(e, fn) ||
	    !text_range(e, &lo, &hi))
		goto out;
	for (k = 0; k < 2; k++) {
		at = exec_offset(e, fn[k], &room);
		if (at < 0)
			goto out;
		if (room > sizeof(code))
			room = sizeof(code);
		got = pread(fd, code, room, at);
		if (got <= 0 || tls_first_call(code, (size_t)got, &t))
			goto out;
		callee[k] = fn[k] + t;
	}
	if (callee[0] != callee[1] || callee[0] < lo || callee[0] >= hi ||
	    callee[0] == fn[0] || callee[0] == fn[1])
		goto out;
	at = exec_offset(e, callee[0], &room);
	if (at < 0)
		goto out;
	*off = (unsigned long)at;
	err = 0;
out:
	if (e)
		elf_end(e);
	close(fd);
	return err;
}
