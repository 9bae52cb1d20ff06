/* WIBEth frames over UDP, one frame per datagram (as a WIB sends them), assembled into frame
 * periods. Every datagram is validated (size, DAQEthHeader version, crate = this cell, stream in
 * range) before use; bad ones are counted and logged rate-limited. A period is complete when
 * every stream has arrived; when a later period starts first, the incomplete one is passed on
 * with its missing streams zero-filled and counted, so a lost datagram never stalls the cell. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "lt_error.h"
#include "source.h"
#include "ticks.h"

#define UDP_BATCH 32U
/* A timestamp more than this past the stream's current period is believed only once frames of
 * UDP_JUMP_CONFIRM periods after it agree (1 s of data; a WIB clock that really jumped, e.g. a
 * timing-system reset, costs those few periods, counted). A lone corrupt timestamp is dropped:
 * taken as a period, it would make every later frame "late" and freeze the cell's watermark. */
#define UDP_MAX_JUMP_TICKS 62500000ULL
#define UDP_JUMP_CONFIRM   2U

/* One receive buffer: 8-byte aligned for the frame accessors; one byte more than a frame is
 * offered to the kernel so that a longer datagram shows up as such (MSG_TRUNC length). */
struct rx_slot {
    _Alignas(8) uint8_t b[LT_WIBETH_FRAME_SIZE + 8];
};

struct udp_source {
    struct trigd_source base;
    int fd;
    lt_wibeth_frame *pending; /* n_streams frames of the period being assembled */
    uint64_t pending_ts;
    uint64_t have_mask[LT_STREAMS_PER_CELL / 64 + 1];
    uint32_t have;
    int pending_used;
    uint64_t last_emitted_ts;
    struct rx_slot *rx;
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    uint32_t rx_n, rx_next; /* received datagrams not yet consumed */
    uint64_t missing_frames, late_frames;
    uint64_t jump_ts;      /* first timestamp of an unconfirmed forward jump (0: none) */
    uint32_t jump_frames;  /* frames seen since that agree with it */
    int jump_confirmed;    /* the frame being taken may open the new period */
    uint64_t jump_dropped; /* frames dropped while a jump was unconfirmed */
};

static void reset_pending(struct udp_source *u, uint64_t ts)
{
    u->pending_ts = ts;
    u->have = 0;
    memset(u->have_mask, 0, sizeof u->have_mask);
    u->pending_used = 1;
    u->jump_confirmed = 0;
}

/* 1 when a frame at ts may be used; 0 when it is a far forward jump not (yet) confirmed. */
static int jump_check(struct udp_source *u, uint64_t ts)
{
    uint64_t ref = u->pending_used ? u->pending_ts : u->last_emitted_ts;
    if (u->jump_confirmed) return 1;
    if (!ref || ts <= ref + UDP_MAX_JUMP_TICKS) {
        u->jump_ts = 0; /* the stream goes on at its time: a pending jump was a lone outlier */
        return 1;
    }
    uint64_t span = (uint64_t)UDP_JUMP_CONFIRM * LT_TICKS_PER_FRAME;
    if (u->jump_ts && ts >= u->jump_ts && ts <= u->jump_ts + span) {
        if (++u->jump_frames > UDP_JUMP_CONFIRM * u->base.n_streams) {
            LT_WARN("cell %u: UDP timestamps jumped from %llu to %llu: following the new time "
                    "(%llu frames dropped while unconfirmed)",
                    u->base.cell, (unsigned long long)ref, (unsigned long long)ts,
                    (unsigned long long)u->jump_dropped);
            u->jump_ts = 0;
            u->jump_confirmed = 1;
            return 1;
        }
    } else {
        u->jump_ts = ts;
        u->jump_frames = 1;
    }
    u->jump_dropped++;
    u->base.errors++;
    LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                       "cell %u: UDP frame at %llu is far past the current period %llu: dropped "
                       "until later frames confirm the jump",
                       u->base.cell, (unsigned long long)ts, (unsigned long long)ref);
    return 0;
}

/* Hand the pending period to the caller; zero-fill what never came. */
static void emit(struct udp_source *u, lt_wibeth_frame *frames, uint64_t *ts)
{
    for (uint32_t s = 0; s < u->base.n_streams; s++) {
        if ((u->have_mask[s / 64] >> (s % 64)) & 1U) {
            memcpy(&frames[s], &u->pending[s], sizeof(lt_wibeth_frame));
        } else {
            memset(&frames[s], 0, sizeof(lt_wibeth_frame));
            frames[s].daq_header[1] = u->pending_ts;
            u->missing_frames++;
            u->base.errors++;
        }
    }
    if (u->have < u->base.n_streams)
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "cell %u: period %llu incomplete (%u of %u streams): zero-filled",
                           u->base.cell, (unsigned long long)u->pending_ts, u->have,
                           u->base.n_streams);
    *ts = u->pending_ts;
    u->last_emitted_ts = u->pending_ts;
    u->pending_used = 0;
}

/* Take one datagram. Returns 1 when it completed a period into frames, 2 when it began a later
 * period and so pushed out the incomplete one (the datagram must be taken again), else 0. */
static int take(struct udp_source *u, const uint8_t *buf, size_t len, lt_wibeth_frame *frames,
                uint64_t *ts)
{
    char err[160];
    if (len != LT_WIBETH_FRAME_SIZE || lt_wibeth_validate(buf, len, err, sizeof err)) {
        u->base.errors++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3, "cell %u: bad UDP datagram (%zu bytes): %s",
                           u->base.cell, len,
                           len != LT_WIBETH_FRAME_SIZE ? "not one WIBEth frame" : err);
        return 0;
    }
    struct lt_daqeth_header h;
    lt_daqeth_decode((const lt_wibeth_frame *)(const void *)buf, &h);
    if (h.crate != u->base.cell || h.stream >= u->base.n_streams) {
        u->base.errors++;
        LT_LOG_RATELIMITED(LT_LOG_WARNING, 10, 3,
                           "cell %u: UDP frame for crate %u stream %u does not belong here",
                           u->base.cell, h.crate, h.stream);
        return 0;
    }
    if (h.timestamp <= u->last_emitted_ts && u->last_emitted_ts) {
        u->late_frames++;
        u->base.errors++;
        return 0;
    }
    if (!jump_check(u, h.timestamp)) return 0;
    if (u->pending_used && h.timestamp != u->pending_ts) {
        if (h.timestamp < u->pending_ts) {
            u->late_frames++;
            u->base.errors++;
            return 0;
        }
        /* A later period began: pass on the incomplete one, keep this frame for the next. */
        emit(u, frames, ts);
        return 2;
    }
    if (!u->pending_used) reset_pending(u, h.timestamp);
    if (!((u->have_mask[h.stream / 64] >> (h.stream % 64)) & 1U)) {
        u->have_mask[h.stream / 64] |= 1ULL << (h.stream % 64);
        u->have++;
    }
    memcpy(&u->pending[h.stream], buf, LT_WIBETH_FRAME_SIZE);
    if (u->have == u->base.n_streams) {
        emit(u, frames, ts);
        return 1;
    }
    return 0;
}

static int udp_next(struct trigd_source *s, lt_wibeth_frame *frames, uint64_t *ts)
{
    struct udp_source *u = (struct udp_source *)s;
    for (;;) {
        while (u->rx_next < u->rx_n) {
            uint32_t i = u->rx_next++;
            int r = take(u, u->rx[i].b, u->msgs[i].msg_len, frames, ts);
            if (r == 2) u->rx_next--; /* it starts the next period */
            if (r) return 1;
        }
        struct pollfd pfd = {.fd = u->fd, .events = POLLIN};
        int pr = poll(&pfd, 1, 20);
        if (pr <= 0) return 0;
        for (uint32_t i = 0; i < UDP_BATCH; i++) {
            u->iov[i].iov_base = u->rx[i].b;
            u->iov[i].iov_len = LT_WIBETH_FRAME_SIZE + 1;
            memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
            u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
            u->msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(u->fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            return LT_EIO;
        }
        u->rx_n = (uint32_t)n;
        u->rx_next = 0;
    }
}

static void udp_close(struct trigd_source *s)
{
    struct udp_source *u = (struct udp_source *)s;
    if (u->fd >= 0) close(u->fd);
    if (u->missing_frames || u->late_frames)
        LT_INFO("cell %u udp: %llu frames missing, %llu late", s->cell,
                (unsigned long long)u->missing_frames, (unsigned long long)u->late_frames);
    free(u->pending);
    free(u->rx);
    free(u);
}

static const struct trigd_source_ops udp_ops = {"udp", udp_next, udp_close};

int trigd_source_udp_open(const struct trigd_source_config *sc, struct trigd_source **out,
                          char *err, size_t errlen)
{
    const struct trigd_cell_config *cc = sc->cell;
    struct udp_source *u = calloc(1, sizeof *u);
    if (!u) goto nomem;
    u->fd = -1;
    u->base.ops = &udp_ops;
    u->base.cell = cc->id;
    u->base.n_streams = cc->n_fembs * LT_STREAMS_PER_FEMB;
    u->base.paced = 0;
    u->base.impl = u;
    u->pending = calloc(u->base.n_streams, sizeof(lt_wibeth_frame));
    u->rx = calloc(UDP_BATCH, sizeof *u->rx);
    if (!u->pending || !u->rx) {
        udp_close(&u->base);
        goto nomem;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cc->udp_port)};
    if (inet_pton(AF_INET, cc->udp_bind, &sa.sin_addr) != 1) {
        udp_close(&u->base);
        lt_seterr(err, errlen, "cell %u: udp_bind \"%s\" is not an IPv4 address", cc->id,
                  cc->udp_bind);
        return LT_EINVAL;
    }
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rcvbuf = 64 << 20;
    if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        udp_close(&u->base);
        lt_seterr(err, errlen, "cell %u: cannot bind udp %s:%u: %s", cc->id, cc->udp_bind,
                  cc->udp_port, strerror(e));
        return LT_EIO;
    }
    /* A large receive buffer absorbs scheduling hiccups. SO_RCVBUFFORCE passes rmem_max when
     * the process may (CAP_NET_ADMIN); otherwise the kernel caps SO_RCVBUF at rmem_max. */
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int got = 0;
    socklen_t gl = sizeof got;
    getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
    LT_INFO("cell %u: receiving WIBEth frames on udp %s:%u (socket buffer %d KiB)", cc->id,
            cc->udp_bind, cc->udp_port, got / 1024);
    *out = &u->base;
    return 0;
nomem:
    lt_seterr(err, errlen, "udp source: out of memory");
    return LT_ENOMEM;
}
