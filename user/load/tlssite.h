/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tlssite.h - the load stage finds where in a TLS library the loader puts
 * its SSL_write hooks: at the common callee of SSL_write and SSL_write_ex
 * when the library is one whose callee it knows, else at their entries.
 */
#ifndef TOLLGATE_TLSSITE_H
#define TOLLGATE_TLSSITE_H

#include <stddef.h>

/*
 * The offset, from @code, of the target of the first call (call rel32)
 * on the straight path through the @len bytes of x86-64 code at @code:
 * the prologue of a function that calls another first. Only the kinds of
 * instruction a compiler puts in such a prologue are decoded; the first
 * of another kind (a return, an indirect call, one not known) ends the
 * search. Returns 0 and sets *@target, or -1 when no call was found.
 */
int tls_first_call(const unsigned char *code, size_t len, long *target);

/*
 * The file offset, in the ELF file @path, of the function that both
 * SSL_write and SSL_write_ex call first, when the file is an OpenSSL
 * libssl of the 3.0 series (its only symbol version OPENSSL_3.0.0): its
 * ssl_write_internal(ssl, buf, num, size_t *written), which returns more
 * than 0 when it wrote *written bytes. Returns 0 and sets *@off; -ENOENT
 * when the file is not such a library; -errno when it cannot be read.
 */
int tls_write_site(const char *path, unsigned long *off);

#endif /* TOLLGATE_TLSSITE_H */
