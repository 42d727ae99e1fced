/* SPDX-License-Identifier: MIT */
/* lhcodec stat: parse one captured connection and count what is in it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lh_stream.h"
#include "lhcodec.h"
#include "wan_cli.h"

enum { K_ZERO, K_PAGE, K_XBZRLE, K_COMPRESS, K__N };
static const char *const kind_names[K__N] = { "ZERO", "PAGE", "XBZRLE", "COMPRESS" };

#define MAX_STAT_BLOCKS 512

struct stats {
	uint64_t sections[5];          /* by LH_SEC_* type */
	uint64_t sections_guessed;
	uint64_t footers;
	uint64_t records[K__N];
	uint64_t flush, eos, mem_size;
	uint64_t commands[16];         /* id 15 = "other" */
	uint64_t blocks[MAX_STAT_BLOCKS][K__N];
	char block_names[MAX_STAT_BLOCKS][256];
	uint32_t n_blocks;
	uint64_t mf_packets, mf_sync, mf_pages, mf_zero_pages, mf_devstate;
	uint64_t opaque_bytes, page_bytes, vmdesc_len;
	uint64_t eof;
	int have_config;
	char machine[256];
	uint64_t tail_offset;
	int tail_seen;
};

static void count_block(struct stats *s, const lh_ramblock *b, int kind, uint64_t n)
{
	if (!b || b->index >= MAX_STAT_BLOCKS)
		return;
	if (b->index >= s->n_blocks) {
		for (uint32_t i = s->n_blocks; i <= b->index; i++)
			s->block_names[i][0] = 0;
		s->n_blocks = b->index + 1;
	}
	memcpy(s->block_names[b->index], b->name, (size_t)b->name_len + 1);
	s->blocks[b->index][kind] += n;
}

static int on_event(void *opaque, const lh_event *ev)
{
	struct stats *s = opaque;

	switch (ev->type) {
	case LH_EV_CONFIGURATION:
		s->have_config = 1;
		snprintf(s->machine, sizeof(s->machine), "%.*s", (int)ev->u.config.name_len, ev->u.config.name);
		break;
	case LH_EV_SECTION_HEADER:
		if (ev->u.section.type >= 1 && ev->u.section.type <= 4)
			s->sections[ev->u.section.type]++;
		s->sections_guessed += ev->guessed;
		break;
	case LH_EV_SECTION_FOOTER: s->footers++; break;
	case LH_EV_COMMAND: s->commands[ev->u.command.cmd < 15 ? ev->u.command.cmd : 15]++; break;
	case LH_EV_RAM_MEM_SIZE: s->mem_size++; break;
	case LH_EV_RAM_ZERO: s->records[K_ZERO]++; count_block(s, ev->u.ram.block, K_ZERO, 1); break;
	case LH_EV_RAM_PAGE:
		s->records[K_PAGE]++;
		s->page_bytes += ev->u.ram.data_len;
		count_block(s, ev->u.ram.block, K_PAGE, 1);
		break;
	case LH_EV_RAM_XBZRLE: s->records[K_XBZRLE]++; count_block(s, ev->u.ram.block, K_XBZRLE, 1); break;
	case LH_EV_RAM_COMPRESS: s->records[K_COMPRESS]++; count_block(s, ev->u.ram.block, K_COMPRESS, 1); break;
	case LH_EV_RAM_MULTIFD_FLUSH: s->flush++; break;
	case LH_EV_RAM_EOS: s->eos++; break;
	case LH_EV_EOF: s->eof++; break;
	case LH_EV_VMDESC: s->vmdesc_len = ev->u.vmdesc.len; break;
	case LH_EV_OPAQUE:
		s->opaque_bytes += ev->raw_len;
		if (!s->tail_seen && ev->u.opaque.kind == LH_OPAQUE_DEVICE_STATE) {
			s->tail_seen = 1;
			s->tail_offset = ev->offset;
		}
		break;
	case LH_EV_MULTIFD_PACKET:
		s->mf_packets++;
		s->mf_sync += (ev->u.mf_packet.flags & 1) != 0;
		s->mf_zero_pages += ev->u.mf_packet.zero_pages;
		if (ev->u.mf_packet.zero_pages)
			count_block(s, ev->u.mf_packet.block, K_ZERO, ev->u.mf_packet.zero_pages);
		break;
	case LH_EV_MULTIFD_PAGE:
		s->mf_pages++;
		s->page_bytes += ev->raw_len;
		count_block(s, ev->u.mf_page.block, K_PAGE, 1);
		break;
	case LH_EV_MULTIFD_DEVSTATE: s->mf_devstate++; break;
	default: break;
	}
	return 0;
}

static const char *const cmd_names[16] = {
	"INVALID", "OPEN_RETURN_PATH", "PING", "POSTCOPY_ADVISE", "POSTCOPY_LISTEN", "POSTCOPY_RUN",
	"POSTCOPY_RAM_DISCARD", "PACKAGED", "ENABLE_COLO", "POSTCOPY_RESUME", "RECV_BITMAP",
	"SWITCHOVER_START", "CMD12", "CMD13", "CMD14", "OTHER",
};

static void print_json(const struct stats *s, const lh_parser *p, uint64_t total)
{
	static const char *const sec[5] = { "", "START", "PART", "END", "FULL" };
	const char *sep = "";

	printf("{\"channel\":\"%s\",", lh_channel_name(lh_parser_channel(p)));
	if (s->have_config) {
		printf("\"machine\":");
		lh_cli_json_string(stdout, s->machine);
		putchar(',');
	}
	printf("\"sections\":{");
	for (int t = 1; t <= 4; t++)
		printf("%s\"%s\":%llu", t > 1 ? "," : "", sec[t], (unsigned long long)s->sections[t]);
	printf(",\"footers\":%llu,\"guessed\":%llu},", (unsigned long long)s->footers,
	       (unsigned long long)s->sections_guessed);
	printf("\"records\":{");
	for (int k = 0; k < K__N; k++)
		printf("\"%s\":%llu,", kind_names[k], (unsigned long long)s->records[k]);
	printf("\"MULTIFD_FLUSH\":%llu,\"EOS\":%llu,\"MEM_SIZE\":%llu},", (unsigned long long)s->flush,
	       (unsigned long long)s->eos, (unsigned long long)s->mem_size);
	printf("\"commands\":{");
	for (int c = 0; c < 16; c++) {
		if (!s->commands[c])
			continue;
		printf("%s\"%s\":%llu", sep, cmd_names[c], (unsigned long long)s->commands[c]);
		sep = ",";
	}
	printf("},\"multifd\":{\"packets\":%llu,\"sync\":%llu,\"pages\":%llu,\"zero_pages\":%llu,\"device_state\":%llu},",
	       (unsigned long long)s->mf_packets, (unsigned long long)s->mf_sync, (unsigned long long)s->mf_pages,
	       (unsigned long long)s->mf_zero_pages, (unsigned long long)s->mf_devstate);
	printf("\"blocks\":{");
	sep = "";
	for (uint32_t i = 0; i < s->n_blocks; i++) {
		const char *isep = "";
		printf("%s", sep);
		lh_cli_json_string(stdout, s->block_names[i]);
		printf(":{");
		for (int k = 0; k < K__N; k++) {
			if (!s->blocks[i][k])
				continue;
			printf("%s\"%s\":%llu", isep, kind_names[k], (unsigned long long)s->blocks[i][k]);
			isep = ",";
		}
		printf("}");
		sep = ",";
	}
	printf("},\"bytes\":{\"total\":%llu,\"consumed\":%llu,\"page_payload\":%llu,\"opaque\":%llu,\"vmdesc\":%llu},",
	       (unsigned long long)total, (unsigned long long)lh_parser_offset(p), (unsigned long long)s->page_bytes,
	       (unsigned long long)s->opaque_bytes, (unsigned long long)s->vmdesc_len);
	printf("\"eof\":%s,\"tail_offset\":", s->eof ? "true" : "false");
	if (s->tail_seen)
		printf("%llu}\n", (unsigned long long)s->tail_offset);
	else
		printf("null}\n");
}

static void print_text(const struct stats *s, const lh_parser *p, uint64_t total)
{
	printf("channel      %s%s%s\n", lh_channel_name(lh_parser_channel(p)), s->have_config ? "  machine " : "",
	       s->have_config ? s->machine : "");
	printf("sections     START %llu  PART %llu  END %llu  FULL %llu  (footers %llu, re-synced %llu)\n",
	       (unsigned long long)s->sections[1], (unsigned long long)s->sections[2],
	       (unsigned long long)s->sections[3], (unsigned long long)s->sections[4],
	       (unsigned long long)s->footers, (unsigned long long)s->sections_guessed);
	printf("records      PAGE %llu  ZERO %llu  XBZRLE %llu  COMPRESS %llu  MULTIFD_FLUSH %llu  EOS %llu\n",
	       (unsigned long long)s->records[K_PAGE], (unsigned long long)s->records[K_ZERO],
	       (unsigned long long)s->records[K_XBZRLE], (unsigned long long)s->records[K_COMPRESS],
	       (unsigned long long)s->flush, (unsigned long long)s->eos);
	if (s->mf_packets)
		printf("multifd      packets %llu  sync %llu  pages %llu  zero pages %llu\n",
		       (unsigned long long)s->mf_packets, (unsigned long long)s->mf_sync,
		       (unsigned long long)s->mf_pages, (unsigned long long)s->mf_zero_pages);
	printf("commands    ");
	for (int c = 0; c < 16; c++)
		if (s->commands[c])
			printf(" %s %llu", cmd_names[c], (unsigned long long)s->commands[c]);
	printf("\n");
	for (uint32_t i = 0; i < s->n_blocks; i++) {
		printf("block        %-32s", s->block_names[i]);
		for (int k = 0; k < K__N; k++)
			if (s->blocks[i][k])
				printf(" %s %llu", kind_names[k], (unsigned long long)s->blocks[i][k]);
		printf("\n");
	}
	printf("bytes        total %llu  consumed %llu  page payload %llu  opaque %llu\n",
	       (unsigned long long)total, (unsigned long long)lh_parser_offset(p),
	       (unsigned long long)s->page_bytes, (unsigned long long)s->opaque_bytes);
	printf("eof          %s\n", s->eof ? "yes" : "no");
}

static int parse_channel(const char *v, lh_channel_kind *k)
{
	static const char *const names[] = { "auto", "main", "multifd", "preempt", "opaque" };
	for (int i = 0; i < 5; i++)
		if (!strcmp(v, names[i])) {
			*k = (lh_channel_kind)i;
			return 0;
		}
	return -1;
}

int stat_main(int argc, char **argv)
{
	const char *path = NULL;
	lh_channel_kind chan = LH_CHAN_AUTO;
	int json = 0, fd, r = 0, rc = 1;
	uint64_t total = 0;
	struct stats *s = NULL;
	lh_parser *p = NULL;
	uint8_t *buf = NULL;
	const size_t bufsz = 1 << 20;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--channel") && i + 1 < argc) {
			if (parse_channel(argv[++i], &chan) < 0) {
				fprintf(stderr, "lhcodec stat: unknown channel `%s'\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "lhcodec stat: unknown option `%s'\n", argv[i]);
			return 2;
		} else if (!path)
			path = argv[i];
		else {
			fprintf(stderr, "lhcodec stat: more than one FILE\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: lhcodec stat FILE [--json] [--channel auto|main|multifd|preempt|opaque]\n");
		return 2;
	}
	fd = !strcmp(path, "-") ? 0 : open(path, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	s = calloc(1, sizeof(*s));
	buf = malloc(bufsz);
	p = lh_parser_create();
	if (!s || !buf || !p || lh_parser_set_param(p, LH_P_CHANNEL, chan) < 0) {
		fprintf(stderr, "%s: out of memory\n", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, bufsz);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s:%llu: read: %s\n", path, (unsigned long long)total, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if ((r = lh_parser_feed(p, buf, (size_t)n, on_event, s)) < 0)
			break;
	}
	if (r == 0)
		r = lh_parser_finish(p, on_event, s);
	if (r < 0) {
		const lh_parse_error *e = lh_parser_error(p);
		fprintf(stderr, "%s:%llu: %s: %s\n", path, (unsigned long long)e->offset, lh_err_name(e->code), e->detail);
		goto out;
	}
	if (chan == LH_CHAN_AUTO && lh_parser_channel(p) == LH_CHAN_OPAQUE) {
		fprintf(stderr, "%s:0: not a QEMU migration stream (no QEVM or multifd magic; "
			"use --channel preempt|opaque to force)\n", path);
		goto out;
	}
	if (json)
		print_json(s, p, total);
	else
		print_text(s, p, total);
	rc = 0;
out:
	if (fd > 0)
		close(fd);
	lh_parser_free(p);
	free(buf);
	free(s);
	return rc;
}
