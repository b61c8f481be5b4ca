// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * privs.c - the load stage's last step: give up privileges once the meter
 * is attached.
 *
 * Loading, attaching and pinning need CAP_BPF, CAP_NET_ADMIN and
 * CAP_PERFMON; what the agent does afterwards (read the maps through
 * descriptors it already holds, write its own files, reread its
 * configuration) needs none of them, except that kernels before 6.5 refuse
 * every bpf(2) command without CAP_BPF while
 * kernel.unprivileged_bpf_disabled is set. So after attaching, an agent
 * that is not root, or that was told to stop being root with --user,
 * keeps CAP_BPF only where a probe shows the kernel wants it, and nothing
 * else: permitted, effective, inheritable and ambient sets, and the
 * bounding set when it may change it. no_new_privs makes sure no exec can
 * bring anything back.
 *
 * An agent run as root without --user keeps everything: it is someone's
 * shell session, not a service.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>

#include "lib/log.h"
#include "load/privs.h"
#include "lib/util.h"
#include "meter.h"

/* glibc declares no capget/capset: libcap does, and this is all we use. */
static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &h, d) ? -errno : 0;
}

/* Set permitted and effective to @prm and @eff (bit masks), inheritable to
 * nothing. */
static int caps_set(__u64 prm, __u64 eff)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = {
		{ .permitted = prm, .effective = eff },
		{ .permitted = prm >> 32, .effective = eff >> 32 },
	};

	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static __u64 cap_bit(int cap)
{
	return 1ull << cap;
}

/*
 * Parse --user: a user name (its primary group with it), or UID or
 * UID:GID in numbers, for containers whose /etc/passwd knows no such user.
 * Root is refused: dropping to it would drop nothing. Returns 0 or
 * -EINVAL, with the reason logged.
 */
int privs_parse_user(const char *spec, struct privs *p)
{
	char num[32], *colon;
	struct passwd *pw;
	__u32 uid, gid;

	memset(p, 0, sizeof(*p));
	errno = 0;
	pw = getpwnam(spec);
	if (pw) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		if (strlen(spec) >= sizeof(num))
			goto bad;
		strcpy(num, spec);
		colon = strchr(num, ':');
		if (colon)
			*colon = '\0';
		if (parse_u32(num, 0, INT_MAX, &uid))
			goto bad;
		gid = uid;
		if (colon && parse_u32(colon + 1, 0, INT_MAX, &gid))
			goto bad;
	}
	if (uid == 0 || gid == 0) {
		pr_warn("--user: '%s' is root; give an unprivileged user",
			spec);
		return -EINVAL;
	}
	p->uid = uid;
	p->gid = gid;
	p->set = true;
	return 0;
bad:
	pr_warn("--user: no user '%s' (give a name, UID or UID:GID)", spec);
	return -EINVAL;
}

/* Become @p's user for good, keeping the permitted capabilities for
 * caps_trim() to sort out. Needs CAP_SETUID and CAP_SETGID. */
static int switch_user(const struct privs *p)
{
	int err, cap;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		err = -errno;
		pr_warn("cannot keep capabilities across the user change: %s",
			strerror(-err));
		return err;
	}
	/* The bounding set limits what an exec could ever grant. Changing it
	 * needs CAP_SETPCAP, which a container may lack (EPERM): then
	 * no_new_privs and empty capability sets guard exec alone. */
	for (cap = 0; cap <= 63; cap++) {
		if (cap == CAP_BPF)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
			if (errno == EINVAL)
				break;	/* past the kernel's last capability */
			if (errno == EPERM) {
				pr_debug("cannot shrink the bounding set "
					 "without CAP_SETPCAP");
				break;
			}
			err = -errno;
			pr_warn("cannot drop capability %d from the bounding "
				"set: %s", cap, strerror(-err));
			return err;
		}
	}
	if (setgroups(0, NULL)) {
		err = -errno;
		pr_warn("cannot drop supplementary groups: %s", strerror(-err));
		return err;
	}
	if (setresgid(p->gid, p->gid, p->gid)) {
		err = -errno;
		pr_warn("cannot change group to %u: %s", p->gid, strerror(-err));
		return err;
	}
	if (setresuid(p->uid, p->uid, p->uid)) {
		err = -errno;
		pr_warn("cannot change user to %u: %s", p->uid, strerror(-err));
		return err;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0)) {
		err = -errno;
		pr_warn("cannot reset keep-capabilities: %s", strerror(-err));
		return err;
	}
	/* Paranoia, as in OpenSSH: the change must not be reversible. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		pr_warn("could become root again after dropping to user %u",
			p->uid);
		return -EPERM;
	}
	return 0;
}

/*
 * Keep CAP_BPF in permitted and effective if the kernel still needs it to
 * read maps through @probe_fd (tg_meta), else nothing.
 */
static int caps_trim(int probe_fd, bool *kept_bpf)
{
	struct __user_cap_data_struct d[2];
	struct tg_meta meta;
	__u32 zero = 0;
	__u64 keep;
	int err;

	*kept_bpf = false;
	err = caps_get(d);
	if (err) {
		pr_warn("cannot read capabilities: %s", strerror(-err));
		return err;
	}
	keep = (((__u64)d[1].permitted << 32) | d[0].permitted) &
	       cap_bit(CAP_BPF);
	/* Ambient capabilities (systemd's AmbientCapabilities=) would be
	 * handed to any program we ran; EINVAL: a kernel without them. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL) {
		err = -errno;
		pr_warn("cannot clear ambient capabilities: %s",
			strerror(-err));
		return err;
	}
	/* Probe with CAP_BPF permitted but not effective. */
	err = caps_set(keep, 0);
	if (err) {
		pr_warn("cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	if (!bpf_map_lookup_elem(probe_fd, &zero, &meta)) {
		keep = 0;
	} else if (errno != EPERM || !keep) {
		/* Better now than a warning every interval. */
		err = -errno;
		pr_warn("cannot read the maps without capabilities: %s%s",
			strerror(-err), err == -EPERM ?
			" (this kernel wants CAP_BPF, which the agent lacks)" :
			"");
		return err;
	}
	err = caps_set(keep, keep);
	if (err) {
		pr_warn("cannot drop capabilities: %s", strerror(-err));
		return err;
	}
	if (keep && bpf_map_lookup_elem(probe_fd, &zero, &meta)) {
		err = -errno;
		pr_warn("cannot read a map even with CAP_BPF: %s",
			strerror(-err));
		return err;
	}
	*kept_bpf = keep != 0;
	return 0;
}

/*
 * Drop to @p's user when given, then, when not root, trim capabilities to
 * what reading maps needs (see the top of this file). @probe_fd is a map
 * descriptor the agent holds. Returns 0 or -errno, with the reason logged.
 */
int privs_drop(const struct privs *p, int probe_fd)
{
	bool kept_bpf;
	int err;

	if (p->set) {
		if (geteuid() != 0 && geteuid() != p->uid) {
			pr_warn("--user needs root, this is user %u",
				(unsigned)geteuid());
			return -EPERM;
		}
		if (geteuid() == 0) {
			err = switch_user(p);
			if (err)
				return err;
		}
	}
	if (geteuid() == 0) {
		pr_debug("running as root: keeping every privilege");
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		pr_warn("cannot set no_new_privs: %s", strerror(-err));
		return err;
	}
	err = caps_trim(probe_fd, &kept_bpf);
	if (err)
		return err;
	pr_info("running as user %u group %u, capabilities: %s",
		(unsigned)geteuid(), (unsigned)getegid(),
		kept_bpf ? "cap_bpf (this kernel wants it for bpf(2))" :
			   "none");
	return 0;
}
