/* SPDX-License-Identifier: GPL-2.0 */
/*
 * calls.bpf.h - the count stage, in the kernel: API calls, counted in the
 * stream a frontend socket's reader receives.
 *
 * An API call is an HTTP request a client sends to a frontend socket: an
 * HTTP/1.x request, or an HTTP/2 stream in cleartext (h2c).
 * Requests are counted in the stream the server reads, not in packets:
 *
 * - cgroup_skb ingress sees segments before TCP puts them in order:
 *   retransmits, out-of-order and overlapping segments, GRO super-packets.
 *   Counting there means redoing TCP reassembly per connection with
 *   sequence numbers, and one gap (a segment the program misread, a
 *   reordering beyond what it tracks) loses the request boundaries for the
 *   rest of the connection. It would also put a payload scan on the
 *   per-packet path, which must stay one lookup and two adds.
 * - The bytes a socket's reader receives are in order, each exactly once,
 *   whatever happened on the wire. The kernel announces each receive with
 *   the sock_recv_length tracepoint (the socket, the bytes received, the
 *   flags), after the bytes are in the reader's buffer. The receive runs
 *   inside the reader's syscall, whose arguments (descriptor, buffer,
 *   length) the kernel saved with the thread's user registers at entry,
 *   where bpf_task_pt_regs() finds them. A response parser is fed from
 *   SSL_write uprobes for TLS frontends (tls.bpf.h), on their responses.
 *
 * So: tg_recv, when a socket that sock_ops saw accepted (TG_SOCK_CALLS)
 * receives bytes, takes the current syscall's arguments (read, readv,
 * recvfrom or recvmsg), checks that its descriptor is that very socket,
 * reads the bytes from the user buffer and feeds them to the parser of
 * include/http.h, whose state lives in the socket's storage. Each request
 * is added to the socket's and to its peer's `calls`. MSG_PEEK receives
 * are skipped: the same bytes are read again. Nothing runs at syscall
 * entry: a syscall tracepoint, even one whose program returns at once,
 * sends every syscall of every process on the host through the kernel's
 * traced entry and exit path.
 *
 * Nothing is lost silently. A receive on a counted socket outside such a
 * syscall (io_uring, recvmmsg, a kernel-internal read), a buffer that
 * cannot be read, more iovecs than followed, or a
 * stream that stops making sense puts the socket in TG_HTTP_DESYNC and
 * counts it in TG_STAT_HTTP_DESYNC; its later requests are not counted.
 * Bytes taken from a socket without a receive (splice(2)) are not seen at
 * all: the next receive then starts inside the stream, which the parser
 * mostly, but not always, finds out.
 * Connections that are not HTTP from their first byte (TLS) count in
 * TG_STAT_HTTP_OTHER. Cleartext HTTP/2 is followed frame by frame. Sockets
 * accepted before tollgate attached are not parsed at all: their stream
 * was not seen from its start.
 *
 * A socket's stream is parsed by whoever reads it; HTTP servers read a
 * connection from one thread at a time, as they must to make sense of it.
 *
 * The parse costs what the bytes it looks at cost, two to a bpf_loop
 * step: body bytes are skipped by length without a look, and where only
 * a line's end matters (the request line, a header that is neither
 * Content-Length nor Transfer-Encoding) the window is searched for it
 * eight bytes at a time.
 *
 * calls_recv() is the receive program's part here; the TLS hooks
 * (tls.bpf.h) feed the response parser through seg_parse().
 */
#ifndef TOLLGATE_CALLS_BPF_H
#define TOLLGATE_CALLS_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "http.h"
#include "names.h"
#include "bytes.bpf.h"
#include "maps.bpf.h"
#include "names.bpf.h"
#include "slots.bpf.h"

#define MSG_PEEK	0x2
#define MSG_TRUNC	0x20
#define MSG_ERRQUEUE	0x2000
#define TG_MAX_STEPS	(1 << 18)	/* parser steps per buffer (two
					 * bytes or skips each) */
#define TG_MAX_IOV	8		/* iovecs followed per read */

/*
 * The benchmark's builds of the agent stop the receive after a step, to
 * tell what each costs under load (tests/bench/run.sh, "Where the
 * receive's time goes"): 1, the counted socket found (its storage and
 * flags); 2, the read behind the receive found; 3, the read's first bytes
 * copied (a plain buffer's, as the parser's window takes them); 4, parsed
 * but not counted. 0, the agent's, runs it all.
 */
#ifndef TG_RECV_STOP
#define TG_RECV_STOP 0
#endif

/* What the parser loop works on: the run's window, the socket's state,
 * and the direction (a server's requests, or its responses); for a
 * stream whose names are read (names.bpf.h), the socket and its names. */
struct seg {
	struct tg_task *t;
	struct tg_http *h;
	int resp;
	struct tg_sock *st;	/* NULL: no names */
	struct tg_name_sk *ns;
};

static __always_inline void count_calls(const struct tg_sock *st, __u64 calls,
				       __u64 now_ns)
{
	peer_add_calls(&st->peer, st->peer_slot, st->peer_epoch, calls,
		       now_ns);
}

/* Count the calls of the task's run, all of service t->run_svc, on the
 * socket's peer under that service. */
static __always_inline void names_flush(struct tg_sock *st, struct tg_task *t)
{
	struct tg_peer_key key;

	if (!t->run)
		return;
	if (t->run_svc == st->peer.svc) {
		count_calls(st, t->run, t->now_ns);
	} else {
		key = st->peer;
		key.svc = t->run_svc;
		peer_add_calls(&key, 0, 0, t->run, t->now_ns);
	}
	t->run = 0;
}

/*
 * A request is complete on a stream whose names are read: it is a call of
 * the service it named (the connection's SNI's when it names none; the
 * connection's when HTTP/2 lost its :authority). The first request of
 * the connection settles the service its bytes wait for; a later one
 * naming another service moves the connection there.
 */
static __always_inline void names_call(struct tg_sock *st, struct tg_name_sk *ns,
				  struct tg_task *t)
{
	struct tg_req_names *p = &ns->p;
	bool named = p->req & TG_REQ_NAMED;
	__u32 svc;

	if (named) {
		svc = p->req_svc;
	} else if (p->req & TG_REQ_LOST) {
		stat_inc(TG_STAT_NAME_LOST);
		svc = st->wait ? ns->sni_svc : st->svc;
	} else {
		svc = ns->sni_svc;
	}
	if (t->run && t->run_svc != svc)
		names_flush(st, t);
	t->run_svc = svc;
	t->run++;
	if (st->wait) {
		names_settle(st, svc, bpf_ktime_get_ns());
	} else if (named && svc != st->svc) {
		st->svc = svc;
		stat_inc(TG_STAT_NAME_SWITCH);
	}
}

/* A name is complete in the stream (TG_HTTP_EV_NAME): its service; the
 * SNI's settles the connection's. */
static __always_inline void names_name(struct tg_sock *st, struct tg_name_sk *ns,
				  bool sni)
{
	__u32 svc = 0;

	if (!names_found(ns, st->peer.port, sni ? TG_UNM_SNI : 0, &svc))
		return;
	tg_names_set(&ns->p, svc);
	if (sni) {
		ns->sni_svc = svc;
		names_settle(st, svc, bpf_ktime_get_ns());
	}
}

/* A ClientHello ended without SNI: the connection's service is the
 * port's. Its decrypted requests are not read for names: SSL_read is not
 * hooked (tls.bpf.h says why). */
static __always_inline void names_noname(struct tg_sock *st)
{
	names_settle(st, 0, bpf_ktime_get_ns());
}

/*
 * The parser loop's step on a stream whose names are read: byte @c, and
 * what it completes (a name, a call, the ClientHello). Returns 1 when the
 * loop stops (t->ev says why, if it is an event to count), else 0.
 *
 * names_step() and names_skip() are global functions, so that the
 * verifier checks each once, on its own: inlined into the loop, their
 * branches would multiply with the loop's states past what it explores.
 */
__noinline int names_step(struct tg_task *t, struct tg_http *h,
			  struct tg_name_sk *ns, struct tg_sock *st, __u32 c)
{
	int ev;

	if (!t || !h || !ns || !st)
		return 1;
	ev = tg_req_byte(h, &ns->p, c);
	if (ev & TG_HTTP_EV_NAME) {
		ev &= ~TG_HTTP_EV_NAME;
		names_name(st, ns, h->state == TG_HTTP_OTHER);
	}
	if (ev == TG_HTTP_EV_CALL) {
		t->calls++;
		names_call(st, ns, t);
		if (h->state != TG_HTTP_DESYNC)
			return 0;
		/* A head the server rejects, and the connection with it
		 * (a bad Content-Length): counted, the rest is lost. */
		ev = TG_HTTP_EV_DESYNC;
	}
	if (ev == TG_HTTP_EV_TLS) {
		/* its ClientHello is read on: the SNI */
		t->tflags |= TG_TASK_TLS;
		return 0;
	}
	if (ev == TG_HTTP_EV_NONAME) {
		names_noname(st);
		return 1;
	}
	if (ev != TG_HTTP_EV_NONE) {
		t->ev = ev;
		return 1;
	}
	return tg_http_done(h);	/* the SNI read: the rest is ciphertext */
}

/* tg_req_skip() of @avail bytes: how many need no look. */
__noinline __u64 names_skip(struct tg_http *h, struct tg_name_sk *ns,
			    __u64 avail)
{
	if (!h || !ns)
		return 0;
	return tg_req_skip(h, &ns->p, avail);
}

#define TG_LF_WORD	0x0a0a0a0a0a0a0a0aULL
#define TG_ONES		0x0101010101010101ULL
#define TG_HIGHS	0x8080808080808080ULL

/* In the window from @t->off on, the offset of the next LF, or the end of
 * the window: words of eight bytes first, then bytes. */
static __always_inline void seg_to_lf(struct tg_task *t)
{
	__u32 pos = t->off - t->win_off, end = t->win_len, k;
	__u64 w;

	for (k = 0; k < TG_WIN / 8; k++) {
		if (pos > TG_WIN - 8 || pos + 8 > end)
			break;
		__builtin_memcpy(&w, &t->win[pos], 8);
		w ^= TG_LF_WORD;
		if ((w - TG_ONES) & ~w & TG_HIGHS)
			break;		/* a zero byte: an LF in this word */
		pos += 8;
	}
	for (k = 0; k < 8; k++) {
		if (pos >= end || pos >= TG_WIN || t->win[pos] == '\n')
			break;
		pos++;
	}
	t->off = t->win_off + pos;
}

/* Skip a body run, or feed one byte: 1 when the parse stops (at the
 * segment's end, or on an event), else 0. */
static __always_inline int seg_one(struct seg *g, struct tg_task *t)
{
	__u32 n;
	int ev;

	if (t->off >= t->seg_len)
		return 1;
	n = g->ns ? names_skip(g->h, g->ns, t->seg_len - t->off) :
		    tg_http_skip(g->h, t->seg_len - t->off);
	if (n) {
		t->off += n;
		return 0;
	}
	if (t->off < t->win_off || t->off - t->win_off >= t->win_len) {
		n = t->seg_len - t->off;
		if (n > TG_WIN)
			n = TG_WIN;
		if (bpf_probe_read_user(t->win, n, (void *)(t->ubuf + t->off))) {
			t->ev = tg_http_desync(g->h);
			return 1;
		}
		t->win_off = t->off;
		t->win_len = n;
	}
	if (g->ns ? tg_req_in_line(g->h) : tg_http_in_line(g->h, g->resp)) {
		seg_to_lf(t);
		if (t->off - t->win_off >= t->win_len)
			return 0;	/* no LF in the window: the next one */
	}
	n = t->win[(t->off - t->win_off) & (TG_WIN - 1)];
	t->off++;
	if (g->ns)
		return names_step(t, g->h, g->ns, g->st, n) ? 1 : 0;
	ev = g->resp ? tg_resp_byte(g->h, n) : tg_http_byte(g->h, n);
	if (ev == TG_HTTP_EV_CALL && g->h->state == TG_HTTP_DESYNC) {
		/* A head the server rejects, and the connection with it
		 * (a bad Content-Length): counted, the rest is lost. */
		t->calls++;
		ev = TG_HTTP_EV_DESYNC;
	}
	if (ev == TG_HTTP_EV_CALL) {
		t->calls++;
	} else if (ev != TG_HTTP_EV_NONE) {
		t->ev = ev;
		return 1;
	}
	return 0;
}

/*
 * bpf_loop callback: seg_one() twice. A request head is mostly a few
 * bytes fed one by one between searches for a line's end, so two per
 * step halve the steps, and their fixed cost, for each request.
 */
static long seg_step(__u32 i, void *data)
{
	struct seg *g = data;

	if (seg_one(g, g->t))
		return 1;
	return seg_one(g, g->t);
}

/* Parse @len bytes at user address @ubuf. */
static __always_inline void seg_run(struct seg *g, __u64 ubuf, __u32 len)
{
	struct tg_task *t = g->t;

	t->ubuf = ubuf;
	t->seg_len = len;
	t->off = 0;
	t->win_off = 0;
	t->win_len = 0;
	bpf_loop(TG_MAX_STEPS, seg_step, g, 0);
	if (!t->ev && t->off < t->seg_len)
		t->ev = tg_http_desync(g->h);	/* more than the steps allow */
}

static __noinline void seg_parse(struct seg *g, __u64 ubuf, __u32 len)
{
	seg_run(g, ubuf, len);
}

/*
 * seg_parse() on a stream whose names are read: a global function, so
 * that the verifier checks its loop once, on its own, rather than once
 * more for every buffer and state of the receive around it. Returns 0.
 */
__noinline int names_seg(struct tg_task *t, struct tg_sock *st,
			 struct tg_name_sk *ns, __u64 ubuf, __u32 len)
{
	struct seg g;

	if (!t || !st || !ns)
		return 0;
	g.t = t;
	g.h = &st->http;
	g.resp = 0;
	g.st = st;
	g.ns = ns;
	seg_run(&g, ubuf, len);
	return 0;
}

/* seg_parse(), or names_seg() on a stream whose names are read. */
static __always_inline void seg_any(struct seg *g, __u64 ubuf, __u32 len)
{
	if (g->ns)
		names_seg(g->t, g->st, g->ns, ubuf, len);
	else
		seg_parse(g, ubuf, len);
}

/* Parse the first @left bytes spread over the iovecs at @iovp. */
static __always_inline void iov_parse(struct seg *g, __u64 iovp, __u64 cnt,
				 __u32 left)
{
	struct tg_task *t = g->t;
	struct iovec iov;
	__u32 n;
	int i;

	for (i = 0; i < TG_MAX_IOV && i < cnt && left && !t->ev; i++) {
		if (bpf_probe_read_user(&iov, sizeof(iov),
					(void *)(iovp + i * sizeof(iov)))) {
			t->ev = tg_http_desync(g->h);
			return;
		}
		n = iov.iov_len < left ? iov.iov_len : left;
		seg_any(g, (__u64)iov.iov_base, n);
		left -= n;
	}
	if (left && !t->ev)
		t->ev = tg_http_desync(g->h);
}

/* The raw parser found a TLS handshake at the start of @st's stream. */
static __always_inline void tls_seen(struct tg_sock *st)
{
	if (st->flags & TG_SOCK_TLS)
		return;
	st->flags |= TG_SOCK_TLS;
	stat_inc(TG_STAT_TLS);
}

/* The syscall number in a task's saved user registers. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(bpf_target_x86)
	return regs->orig_ax;
#elif defined(bpf_target_arm64)
	return ((struct user_pt_regs *)regs)->syscallno;
#else
#error "syscall_nr: add this architecture's syscall number register"
#endif
}

/*
 * The read behind a receive on @sk: the current thread's syscall, when it
 * is one the parser follows (read, readv, recvfrom, recvmsg) on a
 * descriptor of @sk's very file. A receive runs inside the syscall that
 * asked for it, whose arguments the kernel saved on the thread's stack at
 * entry: the buffer is read from there. Fills @t's read fields; false for
 * a receive without such a read (io_uring, recvmmsg, a kernel-internal
 * receive), whose bytes the parser cannot see.
 *
 * This runs on every receive of a counted socket, so it reads the kernel's
 * structures by direct loads (the verifier makes each a load that cannot
 * fault), not by a helper call each: only the descriptor table's slot,
 * at a variable index, takes one.
 */
static __noinline bool read_in_flight(struct tg_task *t, struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	struct fdtable *fdt;
	struct file **fds;
	__u64 fd, file;
	long nr;

	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	nr = syscall_nr(regs);
	if (nr == nr_read || nr == nr_recvfrom)
		t->kind = TG_READ_BUF;
	else if (nr == nr_readv)
		t->kind = TG_READ_IOV;
	else if (nr == nr_recvmsg)
		t->kind = TG_READ_MSG;
	else
		return false;
	fd = (__u32)PT_REGS_PARM1_SYSCALL(regs);
	fdt = task->files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return false;
	fds = fdt->fd;
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + fd))
		return false;
	if (!file || file != (__u64)sk->sk_socket->file)
		return false;
	t->buf = PT_REGS_PARM2_SYSCALL(regs);
	t->len = PT_REGS_PARM3_SYSCALL(regs);
	return true;
}

/* Read-only view of a kernel object as another type (Linux 6.2; the
 * receive program needs 6.3): a cast the verifier makes no instruction
 * of; loads through it may not fault. Weak, so that an older kernel still
 * loads the object's other programs (an agent without calls). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * The time of a receive on @sk, for the day its calls are counted in: the
 * clock TCP keeps for the socket (tcp_clock_cache), CLOCK_MONOTONIC, the
 * clock of bpf_ktime_get_ns() and of tg_clock's day boundaries. A TCP
 * read that takes bytes sets it for its receive buffer's tuning
 * (tcp_rcv_space_adjust()) before the receive is announced, so it is the
 * read's time, a microsecond early at most. It costs a load, where a read
 * of the clock is a helper call, tens of ns on a host whose clock source
 * is slow (a guest's kvm-clock). A socket that is not TCP, or whose clock
 * is unset: the precise clock.
 */
static __always_inline __u64 recv_clock(struct sock *sk)
{
	struct tcp_sock *tp;
	__u64 t = 0;

	if (sk->sk_protocol == IPPROTO_TCP) {
		tp = bpf_rdonly_cast(sk,
				     bpf_core_type_id_kernel(struct tcp_sock));
		t = tp->tcp_clock_cache;
	}
	return t ? t : bpf_ktime_get_ns();
}

/*
 * The bytes of the read behind a receive (t's read fields) that the
 * parser of @g takes: @ret of them, from a buffer, iovecs or a msghdr.
 */
static __always_inline void read_parse(struct seg *g, struct tg_task *t,
				       struct tg_http *h, int ret)
{
	struct user_msghdr msg;

	if (t->kind == TG_READ_BUF) {
		seg_any(g, t->buf, ret);
	} else if (t->kind == TG_READ_IOV) {
		iov_parse(g, t->buf, t->len, ret);
	} else if (bpf_probe_read_user(&msg, sizeof(msg), (void *)t->buf)) {
		t->ev = tg_http_desync(h);
	} else {
		iov_parse(g, (__u64)msg.msg_iov, msg.msg_iovlen, ret);
	}
}

/*
 * calls_recv() on a stream whose names are read (global, as names_seg()).
 * Returns 0.
 */
__noinline int names_recv(struct tg_task *t, struct tg_sock *st,
			  struct tg_name_sk *ns, int ret)
{
	struct seg g;

	if (!t || !st || !ns)
		return 0;
	t->run = 0;
	t->tflags = 0;
	g.t = t;
	g.h = &st->http;
	g.resp = 0;
	g.st = st;
	g.ns = ns;
	read_parse(&g, t, &st->http, ret);
	if (t->calls) {
		__sync_fetch_and_add(&st->c.calls, t->calls);
		names_flush(st, t);
	}
	return 0;
}

/* calls_recv() on a stream whose names are not read. A subprogram of
 * its own, so that its locals are not on the stack of names_recv()'s
 * callers. */
static __noinline void plain_recv(struct tg_task *t, struct tg_sock *st,
				  int ret)
{
	struct seg g;

	g.t = t;
	g.h = &st->http;
	g.resp = 0;
	g.st = NULL;
	g.ns = NULL;
	read_parse(&g, t, &st->http, ret);
	if (TG_RECV_STOP == 4)
		return;
	if (t->calls) {
		__sync_fetch_and_add(&st->c.calls, t->calls);
		count_calls(st, t->calls, t->now_ns);
	}
}

/*
 * A receive of @ret bytes on @sk, whose storage is @st, with the receive's
 * @flags: on a socket whose calls are counted, parse the bytes the read
 * behind it copied to user space and count their requests, on the socket
 * and on its peer; and on one of a port with hosts, read the names they
 * carry (names.bpf.h).
 */
static __always_inline void calls_recv(struct sock *sk, struct tg_sock *st,
				       int ret, int flags)
{
	struct tg_name_sk *ns = NULL;
	struct tg_task *t;
	__u32 zero = 0;
	int ev;

	if (!(st->flags & TG_SOCK_CALLS) || tg_http_done(&st->http))
		return;
	if (TG_RECV_STOP == 1)
		return;
	if (st->flags & TG_SOCK_NAMES) {
		ns = bpf_sk_storage_get(&tg_name_sk, sk, 0,
					BPF_SK_STORAGE_GET_F_CREATE);
		if (ns && !(st->http.flags & TG_HTTP_F_NAMES) &&
		    st->http.state == TG_HTTP_IDLE &&
		    !(st->http.flags & TG_HTTP_F_STARTED))
			st->http.flags |= TG_HTTP_F_NAMES;
		if (!ns || !(st->http.flags & TG_HTTP_F_NAMES)) {
			/* No room to read its names: the port's. */
			names_settle(st, 0, bpf_ktime_get_ns());
			ns = NULL;
		}
	}
	if (flags & MSG_TRUNC) {
		/* TCP drops the bytes without copying them anywhere. */
		ev = tg_http_desync(&st->http);
		goto stat;
	}

	t = bpf_map_lookup_elem(&tg_recv_task, &zero);
	if (!t || !read_in_flight(t, sk)) {
		/* Bytes of this stream went where we cannot see them. */
		ev = tg_http_desync(&st->http);
		goto stat;
	}
	t->calls = 0;
	t->ev = 0;
	if (TG_RECV_STOP == 2)
		return;
	if (TG_RECV_STOP == 3) {
		if (t->kind == TG_READ_BUF)
			bpf_probe_read_user(t->win, ret < TG_WIN ? ret : TG_WIN,
					    (void *)t->buf);
		return;
	}
	t->now_ns = recv_clock(sk);
	if (ns) {
		names_recv(t, st, ns, ret);
		if (t->tflags & TG_TASK_TLS)
			tls_seen(st);
	} else {
		plain_recv(t, st, ret);
	}
	ev = t->ev;
stat:
	if (ev == TG_HTTP_EV_DESYNC)
		stat_inc(TG_STAT_HTTP_DESYNC);
	else if (ev == TG_HTTP_EV_OTHER)
		stat_inc(TG_STAT_HTTP_OTHER);
	else if (ev == TG_HTTP_EV_TLS)
		tls_seen(st);
	/* A stream that cannot name anything any more: the port's. */
	if (ns && ev != TG_HTTP_EV_NONE && ev != TG_HTTP_EV_TLS)
		names_settle(st, 0, bpf_ktime_get_ns());
}

#endif /* TOLLGATE_CALLS_BPF_H */
