/* SPDX-License-Identifier: MIT */
/* longhauld's Prometheus metrics: families declared once, values collected from gw stats at each scrape. */
#include <stddef.h>
#include <stdio.h>

#include "gateway/control/audit.h"
#include "gateway/control/daemon.h"
#include "gateway/base/log.h"
#include "gateway/control/metrics.h"
#include "gateway/mig/migration.h"
#include "gateway/wan/wan_session.h"
#include "gateway/wan/wan_tls.h"

struct gw_metric_def {
	enum lh_metric_type type;
	const char *name, *help;
	size_t off; /* offsetof(struct gw_stats, ...), or (size_t)-1 for a computed gauge */
};

#define ST(f) offsetof(struct gw_stats, f)
static const struct gw_metric_def defs[] = {
	{ LH_METRIC_COUNTER, "longhaul_wan_tx_bytes_total", "TLS payload bytes sent to the peer gateway", ST(wan_tx_bytes) },
	{ LH_METRIC_COUNTER, "longhaul_wan_rx_bytes_total", "TLS payload bytes received from the peer", ST(wan_rx_bytes) },
	{ LH_METRIC_COUNTER, "longhaul_lan_rx_bytes_total", "migration bytes read from source QEMUs", ST(lan_rx_bytes) },
	{ LH_METRIC_COUNTER, "longhaul_lan_tx_bytes_total", "migration bytes written to destination QEMUs", ST(lan_tx_bytes) },
	{ LH_METRIC_COUNTER, "longhaul_wan_frames_tx_total", "codec frames sent", ST(frames_tx) },
	{ LH_METRIC_COUNTER, "longhaul_wan_frames_tx_worker_total",
	  "codec frames whose zstd sections the encoder's worker thread compressed", ST(frames_tx_worker) },
	{ LH_METRIC_COUNTER, "longhaul_wan_frames_rx_total", "codec frames decoded", ST(frames_rx) },
	{ LH_METRIC_COUNTER, "longhaul_wan_frames_rx_ahead_total",
	  "codec frames decoded with their zstd sections done ahead on a second thread", ST(frames_rx_ahead) },
	{ LH_METRIC_COUNTER, "longhaul_wan_resent_total", "messages resent after a WAN stream was lost", ST(resent) },
	{ LH_METRIC_COUNTER, "longhaul_wan_duplicates_total", "duplicate messages dropped by the receiver", ST(dup_rx) },
	{ LH_METRIC_COUNTER, "longhaul_wan_streams_lost_total", "WAN streams that failed after coming up", ST(links_lost) },
	{ LH_METRIC_COUNTER, "longhaul_wan_tls_refused_total", "TLS handshakes refused (certificate, name, plaintext)", ST(tls_refused) },
	{ LH_METRIC_COUNTER, "longhaul_migrations_ok_total", "migrations finished cleanly", ST(migs_ok) },
	{ LH_METRIC_COUNTER, "longhaul_cutovers_total", "L2 cutovers run (source and destination role)", ST(cutovers) },
	{ LH_METRIC_COUNTER, "longhaul_cutover_errors_total", "cutovers with a failed netlink or socket step", ST(cutover_errors) },
	{ LH_METRIC_COUNTER, "longhaul_announce_frames_total", "GARP/NA/RARP frames sent at cutovers", ST(announce_frames) },
	{ LH_METRIC_COUNTER, "longhaul_codec_epoch_resets_total",
	  "codec epochs started because a WAN frame from the peer did not decode (the session went on)",
	  ST(codec_resets_dec) },
	{ LH_METRIC_COUNTER, "longhaul_codec_epoch_resets_peer_total",
	  "codec epochs started because the peer could not decode a WAN frame of ours (CODEC_RESET)", ST(codec_resets_enc) },
	{ LH_METRIC_COUNTER, "longhaul_codec_frames_dropped_total",
	  "WAN frames dropped between a decoder error and the peer's CODEC_EPOCH marker", ST(codec_frames_dropped) },
	{ LH_METRIC_GAUGE, "longhaul_wan_streams_up", "WAN streams up", (size_t)-1 },
	{ LH_METRIC_GAUGE, "longhaul_wan_down_seconds",
	  "seconds the WAN session has had no stream up (0 when up; it fails past [wan] outage_budget_s)", (size_t)-6 },
	{ LH_METRIC_GAUGE, "longhaul_migrations_active", "migrations running", (size_t)-2 },
	{ LH_METRIC_GAUGE, "longhaul_migrations_in_doubt",
	  "source migrations whose session was lost after the EOF left, not decided yet", (size_t)-5 },
	{ LH_METRIC_GAUGE, "longhaul_codec_zstd_level", "zstd level of the encoder's last frame (0: none)", (size_t)-3 },
	{ LH_METRIC_COUNTER, "longhaul_audit_records_lost_total",
	  "audit records not written: writer queue full, disk full or I/O error (0 without [gateway] audit_log)", (size_t)-7 },
	{ LH_METRIC_COUNTER, "longhaul_codec_boosted_bytes_total",
	  "migration bytes whose auto zstd level the literal share raised (this WAN session)", (size_t)-4 },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static struct lh_metric *fams[NDEFS];
/* longhaul_migrations_failed_total{reason="dest-refused"|...}: every reason, so a rate over one exists at 0 */
static struct lh_metric *failed_fam;
/* longhaul_migration_states_entered_total{direction,state}, longhaul_migrations_by_state{direction,state}:
 * each role's machine (mig/STATES.md), every state, so that a rate over one exists at 0 */
static struct lh_metric *entered_fam, *by_state_fam;
/* longhaul_cert_expiry_seconds{which="cert"|"ca"}: from the TLS context new streams use (a reload renews it) */
static struct lh_metric *expiry_fam;

static void collect_expiry(const struct gw *gw)
{
	static const char *const which[] = { "cert", "ca" };
	for (int w = WAN_CERT_OURS; w <= WAN_CERT_CA; w++) {
		long long left;
		struct lh_series *s = lh_metric_series(expiry_fam, &which[w]);
		if (s && wan_tls_expiry_s(gw->ssl, (enum wan_cert_which)w, &left) == 0)
			lh_series_set(s, (double)left);
	}
}

static void collect_states(const struct gw *gw)
{
	static const char *const dir[2] = { "out", "in" };
	const char *name;
	for (int role = 0; role < 2; role++)
		for (unsigned i = 0; i < GW_MIG_STATES && (name = mig_state_name_at(role, i)); i++) {
			const char *labels[2] = { dir[role], name };
			struct lh_series *s = lh_metric_series(entered_fam, labels);
			if (s)
				lh_series_set(s, (double)gw->st.mig_states_entered[role][i]);
			if ((s = lh_metric_series(by_state_fam, labels)))
				lh_series_set(s, mig_count_in_state(gw, role, i));
		}
}

static void collect_failed(const struct gw *gw)
{
	for (int r = MFR_NONE + 1; r < MFR__COUNT; r++) {
		const char *label = mig_fail_reason_name((enum mig_fail_reason)r);
		struct lh_series *s = lh_metric_series(failed_fam, &label);
		if (s)
			lh_series_set(s, (double)gw->st.migs_failed_by[r]);
	}
}

static void collect(void *ctx)
{
	struct gw *gw = ctx;
	for (size_t i = 0; i < NDEFS; i++) {
		double v;
		if (defs[i].off == (size_t)-1)
			v = wan_links_up(gw);
		else if (defs[i].off == (size_t)-2)
			v = mig_count_active(gw);
		else if (defs[i].off == (size_t)-5)
			v = mig_count_in_doubt(gw);
		else if (defs[i].off == (size_t)-6)
			v = wan_down_for(gw);
		else if (defs[i].off == (size_t)-7)
			v = gw->audit ? (double)lh_audit_lost(gw->audit) : 0;
		else if (defs[i].off == (size_t)-3 || defs[i].off == (size_t)-4) {
			const lh_wan_stats *es = cpipe_enc_stats(gw);
			v = !es ? 0 : defs[i].off == (size_t)-3 ? es->zstd_level : (double)es->boosted_bytes;
		}
		else
			v = (double)*(const uint64_t *)((const char *)&gw->st + defs[i].off);
		lh_metric_set(fams[i], v);
	}
	collect_failed(gw);
	collect_states(gw);
	collect_expiry(gw);
}

int daemon_metrics_open(struct gw *gw)
{
	char err[300];
	if (!lh_endpoint_set(&gw->cfg.metrics_listen))
		return 0;
	if (!(gw->metrics = lh_metrics_new()))
		return -1;
	for (size_t i = 0; i < NDEFS; i++)
		if (!(fams[i] = lh_metrics_family(gw->metrics, defs[i].type, defs[i].name, defs[i].help, NULL, 0))) {
			log_warnx("metrics: cannot declare %s", defs[i].name);
			return -1;
		}
	static const char *const reason_label[] = { "reason" };
	if (!(failed_fam = lh_metrics_family(gw->metrics, LH_METRIC_COUNTER, "longhaul_migrations_failed_total",
					     "migrations failed, by reason (status JSON reason_code)", reason_label, 1))) {
		log_warnx("metrics: cannot declare longhaul_migrations_failed_total");
		return -1;
	}
	static const char *const state_labels[] = { "direction", "state" };
	if (!(entered_fam = lh_metrics_family(gw->metrics, LH_METRIC_COUNTER, "longhaul_migration_states_entered_total",
					      "migration state machine: states entered, by role (direction) and state "
					      "(status JSON phase)", state_labels, 2)) ||
	    !(by_state_fam = lh_metrics_family(gw->metrics, LH_METRIC_GAUGE, "longhaul_migrations_by_state",
					       "migrations listed now, by role (direction) and state", state_labels, 2))) {
		log_warnx("metrics: cannot declare the migration state families");
		return -1;
	}
	static const char *const which_label[] = { "which" };
	if (!(expiry_fam = lh_metrics_family(gw->metrics, LH_METRIC_GAUGE, "longhaul_cert_expiry_seconds",
					     "seconds until the notAfter of our WAN certificate (cert) and of the first CA "
					     "certificate to expire (ca); negative once past", which_label, 1))) {
		log_warnx("metrics: cannot declare longhaul_cert_expiry_seconds");
		return -1;
	}
	lh_metrics_set_collector(gw->metrics, collect, gw);
	gw->metrics_http = lh_metrics_http_open(gw->loop, gw->metrics, (const struct sockaddr *)&gw->cfg.metrics_listen.sa,
						gw->cfg.metrics_listen.salen, err, sizeof(err));
	if (!gw->metrics_http) {
		log_warnx("metrics: %s", err);
		return -1;
	}
	return 0;
}

void daemon_metrics_close(struct gw *gw, const char *reason)
{
	if (gw->metrics_http)
		lh_metrics_http_close(gw->metrics_http, reason);
	gw->metrics_http = NULL;
	lh_metrics_free(gw->metrics);
	gw->metrics = NULL;
}
