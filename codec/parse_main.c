/* SPDX-License-Identifier: MIT */
/* Main channel framing: file header, configuration, sections, commands, EOF, VMDESCRIPTION. */
#include "parser_internal.h"

#define QEMU_VM_FILE_MAGIC 0x5145564Du
#define QEMU_VM_FILE_VERSION 3u
#define VMDESC_MAX (256u << 20)

int lh__st_main_header(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint32_t version;
	int r;

	if (n < 8)
		return lh__need(p, 8);
	if (lh_be32(b) != QEMU_VM_FILE_MAGIC)
		return lh__fail(p, LH_E_BAD_MAGIC, p->offset, "file magic 0x%08x is not QEVM", lh_be32(b));
	version = lh_be32(b + 4);
	if (version != QEMU_VM_FILE_VERSION)
		return lh__fail(p, LH_E_BAD_VERSION, p->offset + 4, "stream version %u (only 3 is carried)", version);
	lh__event_init(p, &ev, LH_EV_FILE_HEADER, b, 8);
	ev.u.file.magic = QEMU_VM_FILE_MAGIC;
	ev.u.file.version = version;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 8;
	p->state = ST_MAIN_CONFIG;
	return 0;
}

/* 0x07 be32 len name; present when send-configuration=on (every machine type > 2.3). */
int lh__st_main_config(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint32_t len;
	int r;

	if (n < 1)
		return lh__need(p, 1);
	if (b[0] != 0x07) {
		p->state = ST_MAIN_TOP;
		return 0;
	}
	if (n < 5)
		return lh__need(p, 5);
	len = lh_be32(b + 1);
	if (len > 255)
		return lh__fail(p, LH_E_BAD_CONFIG, p->offset + 1, "machine type name of %u bytes", len);
	if (n < 5 + len)
		return lh__need(p, 5 + len);
	lh__event_init(p, &ev, LH_EV_CONFIGURATION, b, 5 + len);
	ev.u.config.name = b + 5;
	ev.u.config.name_len = len;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 5 + len;
	p->state = ST_MAIN_CONFIG_SUB;
	return 0;
}

static bool str8_is(const uint8_t *s, uint8_t len, const char *lit)
{
	return strlen(lit) == len && !memcmp(s, lit, len);
}

/*
 * Subsections of the configuration (format reference §1.5). Their fields
 * have no length prefix, so only the three known ones can be framed; an
 * unknown one makes the rest of the connection opaque.
 */
int lh__st_main_config_sub(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	size_t pos;
	uint8_t nl;
	int r;

	if (n < 1)
		return lh__need(p, 1);
	if (b[0] != 0x05) {
		p->state = ST_MAIN_TOP;
		return 0;
	}
	if (n < 2)
		return lh__need(p, 2);
	nl = b[1];
	pos = 2 + nl + 4;
	if (n < pos)
		return lh__need(p, pos);
	if (str8_is(b + 2, nl, "configuration/target-page-bits")) {
		uint32_t bits;
		if (n < pos + 4)
			return lh__need(p, pos + 4);
		bits = lh_be32(b + pos);
		if (bits < 10 || bits > 16)
			return lh__fail(p, LH_E_BAD_CONFIG, p->offset + pos, "target-page-bits %u out of 10..16", bits);
		p->page_size = 1u << bits;
		pos += 4;
	} else if (str8_is(b + 2, nl, "configuration/capabilities")) {
		uint32_t count;
		if (n < pos + 4)
			return lh__need(p, pos + 4);
		count = lh_be32(b + pos);
		if (count > 64)
			return lh__fail(p, LH_E_BAD_CONFIG, p->offset + pos, "%u validated capabilities", count);
		pos += 4;
		for (uint32_t i = 0; i < count; i++) {
			if (n < pos + 1)
				return lh__need(p, pos + 1);
			if (n < pos + 1 + b[pos])
				return lh__need(p, pos + 1 + b[pos]);
			if (str8_is(b + pos + 1, b[pos], "x-ignore-shared"))
				p->ignore_shared = true;
			pos += 1 + b[pos];
		}
	} else if (str8_is(b + 2, nl, "configuration/uuid")) {
		if (n < pos + 16)
			return lh__need(p, pos + 16);
		pos += 16;
	} else {
		/* Unknown layout: carry everything from here on verbatim. */
		p->tail = true;
		p->opaque_kind = LH_OPAQUE_DEVICE_STATE;
		p->state = ST_TAIL_DUMB;
		return 0;
	}
	lh__event_init(p, &ev, LH_EV_CONFIG_SUBSECTION, b, pos);
	ev.u.subsection.name = b + 2;
	ev.u.subsection.name_len = nl;
	ev.u.subsection.version = lh_be32(b + 2 + nl);
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = pos;
	return 0;
}

/* Fixed payload lengths of QEMU_VM_COMMANDs (mig_cmd_args[]); -1 = variable. */
bool lh__command_len_ok(uint16_t cmd, uint16_t len)
{
	switch (cmd) {
	case LH_CMD_OPEN_RETURN_PATH: case LH_CMD_POSTCOPY_LISTEN: case LH_CMD_POSTCOPY_RUN:
	case LH_CMD_ENABLE_COLO: case LH_CMD_POSTCOPY_RESUME: case LH_CMD_SWITCHOVER_START:
		return len == 0;
	case LH_CMD_PING: case LH_CMD_PACKAGED:
		return len == 4;
	case LH_CMD_POSTCOPY_ADVISE:
		return len == 0 || len == 16;
	case LH_CMD_POSTCOPY_RAM_DISCARD:
		return len >= 3 && len <= 3 + 255 + 1 + 12 * 16;
	case LH_CMD_RECV_BITMAP:
		return len >= 2 && len <= 256;
	default: /* newer QEMU: length-prefixed, so still carried */
		return cmd != 0;
	}
}

static int top_command(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint16_t cmd, len;
	int r;

	if (n < 5)
		return lh__need(p, 5);
	cmd = lh_be16(b + 1);
	len = lh_be16(b + 3);
	if (!lh__command_len_ok(cmd, len))
		return lh__fail(p, LH_E_BAD_COMMAND, p->offset, "command %u with payload length %u", cmd, len);
	if (n < 5u + len)
		return lh__need(p, 5u + len);
	lh__event_init(p, &ev, LH_EV_COMMAND, b, 5u + len);
	ev.guessed = p->guessing;
	ev.u.command.cmd = cmd;
	ev.u.command.len = len;
	ev.u.command.payload = b + 5;
	if (cmd == LH_CMD_PACKAGED)
		ev.u.command.blob_len = lh_be32(b + 5);
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 5u + len;
	if (cmd == LH_CMD_POSTCOPY_ADVISE && len == 16)
		p->postcopy_pagesize_summary = lh_be64(b + 5);
	if (cmd == LH_CMD_PACKAGED && ev.u.command.blob_len > 0) {
		/* A nested stream of device state and commands, no RAM (reference §5.2). */
		p->opaque_left = ev.u.command.blob_len;
		p->opaque_kind = LH_OPAQUE_PACKAGED;
		p->after_opaque = ST_MAIN_TOP;
		p->state = ST_OPAQUE_LEN;
	}
	return 0;
}

static int top_section(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint8_t type = b[0];
	size_t len;
	lh_section_info *s;
	bool is_ram = false;
	int r;

	lh__event_init(p, &ev, LH_EV_SECTION_HEADER, b, 0);
	if (n < 5)
		return lh__need(p, 5);
	ev.u.section.type = type;
	ev.u.section.section_id = lh_be32(b + 1);
	if (type == LH_SEC_START || type == LH_SEC_FULL) {
		uint8_t il;
		if (n < 6)
			return lh__need(p, 6);
		il = b[5];
		len = 6 + il + 8;
		if (n < len)
			return lh__need(p, len);
		ev.u.section.idstr = b + 6;
		ev.u.section.idstr_len = il;
		ev.u.section.instance_id = lh_be32(b + 6 + il);
		ev.u.section.version_id = lh_be32(b + 10 + il);
		/* RAM is always "ram", instance 0, version 4; only START/PART/END. */
		is_ram = str8_is(b + 6, il, "ram") && ev.u.section.instance_id == 0 &&
			 ev.u.section.version_id == 4 && type == LH_SEC_START;
		if ((r = lh__section_add(p, ev.u.section.section_id, is_ram)) < 0)
			return r;
	} else {
		len = 5;
		s = lh__section_find(p, ev.u.section.section_id);
		if (!s && !p->recovery)
			return lh__fail(p, LH_E_BAD_SECTION, p->offset + 1, "section %s for unknown section id %u",
					type == LH_SEC_PART ? "PART" : "END", ev.u.section.section_id);
		/* A recovery connection resumes sections opened on the lost one: carried opaque. */
		is_ram = s && s->is_ram;
		if (s && type == LH_SEC_END)
			s->ended = 1;
	}
	ev.raw_len = len;
	ev.u.section.is_ram = is_ram;
	ev.guessed = p->guessing;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = len;
	p->cur_section_id = ev.u.section.section_id;
	if (is_ram && !p->tail) {
		p->state = ST_RAM_RECORD;
	} else {
		/* Device state has no length prefix: from here on, only re-sync by footer. */
		lh__enter_tail(p, ev.u.section.section_id);
	}
	return 0;
}

int lh__st_main_top(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	int r;

	if (n < 1)
		return lh__need(p, 1);
	switch (b[0]) {
	case 0x00: /* QEMU_VM_EOF */
		lh__event_init(p, &ev, LH_EV_EOF, b, 1);
		ev.guessed = p->guessing;
		if ((r = lh__emit(p, &ev)) < 0)
			return r;
		*used = 1;
		p->saw_eof = true;
		p->state = ST_POST_EOF;
		return 0;
	case LH_SEC_START: case LH_SEC_PART: case LH_SEC_END: case LH_SEC_FULL:
		return top_section(p, b, n, used);
	case 0x08:
		return top_command(p, b, n, used);
	default:
		return lh__fail(p, LH_E_BAD_SECTION, p->offset, "unknown section type 0x%02x", b[0]);
	}
}

/* After a RAM payload's EOS: optional 0x7E be32 id (send-section-footer). */
int lh__st_section_footer(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint32_t id;
	int r;

	if (n < 1)
		return lh__need(p, 1);
	if (b[0] != 0x7E) {
		p->state = ST_MAIN_TOP;
		return 0;
	}
	if (n < 5)
		return lh__need(p, 5);
	id = lh_be32(b + 1);
	if (id != p->cur_section_id)
		return lh__fail(p, LH_E_BAD_FOOTER, p->offset, "footer names section %u inside section %u",
				id, p->cur_section_id);
	lh__event_init(p, &ev, LH_EV_SECTION_FOOTER, b, 5);
	ev.u.footer.section_id = id;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 5;
	p->state = ST_MAIN_TOP;
	return 0;
}

/* After EOF: 0x06 be32 len JSON (precopy), or nothing (postcopy). */
int lh__st_post_eof(lh_parser *p, const uint8_t *b, size_t n, size_t *used)
{
	lh_event ev;
	uint32_t len;
	int r;

	if (n < 1)
		return lh__need(p, 1);
	if (b[0] != 0x06) {
		p->opaque_kind = LH_OPAQUE_TRAILING;
		p->state = ST_TAIL_DUMB;
		return 0;
	}
	if (n < 5)
		return lh__need(p, 5);
	len = lh_be32(b + 1);
	if (len > VMDESC_MAX)
		return lh__fail(p, LH_E_BAD_LENGTH, p->offset + 1, "VMDESCRIPTION of %u bytes", len);
	lh__event_init(p, &ev, LH_EV_VMDESC, b, 5);
	ev.guessed = p->guessing;
	ev.u.vmdesc.len = len;
	if ((r = lh__emit(p, &ev)) < 0)
		return r;
	*used = 5;
	p->opaque_left = len;
	p->opaque_kind = LH_OPAQUE_VMDESC;
	p->after_opaque = ST_TAIL_DUMB;
	p->state = ST_OPAQUE_LEN;
	if (len == 0) {
		p->state = ST_TAIL_DUMB;
		p->opaque_kind = LH_OPAQUE_TRAILING;
	}
	return 0;
}
