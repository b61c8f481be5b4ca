// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * traffic.c - the classify stage's table of traffic types (traffic.h):
 * names, whether each is billed, and the billing rule it comes from.
 *
 * The seeds are the two gateways' billing rules in shared/seeds: 000 (JD
 * Cloud: "Cost Details" (1), (2) and the table of HTTP service locations)
 * and 002 (Tencent Cloud: the HTTP backend and the serverless function
 * tables).
 */
#include <errno.h>
#include <string.h>

#include "classify/traffic.h"
#include "meter.h"

const struct traffic_type traffic_types[] = {
	[TG_TRAFFIC_INBOUND] = {
		"inbound", false,
		"000/002 inflow table: client or backend to gateway is "
		"inflow, not billed" },
	[TG_TRAFFIC_OUTBOUND_CLIENT] = {
		"outbound_client", true,
		"000 cost details (1): gateway to client is always charged" },
	[TG_TRAFFIC_BACKEND_INTRANET] = {
		"outbound_backend_intranet", false,
		"000 HTTP row 1, 002 HTTP row 1: our cloud, our region, "
		"intranet address: free" },
	[TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION] = {
		"outbound_backend_public_same_region", true,
		"000 HTTP row 3, 002 HTTP row 2: our cloud, our region, "
		"internet address: charged" },
	[TG_TRAFFIC_BACKEND_OTHER_REGION] = {
		"outbound_backend_other_region", true,
		"000 HTTP row 2, 002 HTTP row 3: our cloud, another region: "
		"charged" },
	[TG_TRAFFIC_BACKEND_INTERNET] = {
		"outbound_backend_internet", true,
		"000 HTTP row 4, 002 HTTP row 4: not our cloud: charged" },
	[TG_TRAFFIC_SCF_SAME_REGION] = {
		"outbound_scf_same_region", false,
		"002 serverless row 1: function in our region: free" },
	[TG_TRAFFIC_SCF_OTHER_REGION] = {
		"outbound_scf_other_region", true,
		"002 serverless row 2: function in another region: "
		"charged" },
};
_Static_assert(sizeof(traffic_types) / sizeof(traffic_types[0]) ==
		       TG_NR_TRAFFIC,
	       "one row per traffic type");

const char *traffic_name(enum tg_traffic t)
{
	if ((unsigned int)t >= TG_NR_TRAFFIC)
		return NULL;
	return traffic_types[t].name;
}

int traffic_index(const char *s)
{
	int i;

	for (i = 0; i < TG_NR_TRAFFIC; i++)
		if (!strcmp(s, traffic_types[i].name))
			return i;
	return -EINVAL;
}

int traffic_parse(const char *s, enum tg_traffic *out)
{
	int i = traffic_index(s);

	if (i < 0)
		return i;
	*out = i;
	return 0;
}

bool traffic_billable(enum tg_traffic t)
{
	return (unsigned int)t < TG_NR_TRAFFIC && traffic_types[t].billed;
}

enum tg_traffic traffic_unattributed(__u8 role)
{
	return role == TG_ROLE_BACKEND ? TG_TRAFFIC_BACKEND_INTERNET :
					 TG_TRAFFIC_OUTBOUND_CLIENT;
}
