/*
 * edgewatch_frame.c - reference C99 implementation of the edgewatch serial frame, v1.
 * See edgewatch_frame.h for the API and docs/protocol.md for the byte layout.
 */
#include "edgewatch_frame.h"

#include <string.h>

/* The wire carries IEEE-754 binary32; refuse to build where float is not 32 bits. */
typedef char ew_float_must_be_32_bits[(sizeof(float) == 4u) ? 1 : -1];

#define EW_SAMPLES_HEADER 4u

/* ---------------------------------------------------------------- CRC */

static uint16_t crc16_byte(uint16_t crc, uint8_t byte)
{
    int bit;
    crc ^= (uint16_t)((uint16_t)byte << 8);
    for (bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

uint16_t ew_crc16(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        crc = crc16_byte(crc, data[i]);
    }
    return crc;
}

/* ---------------------------------------------------------------- writer: CRC + COBS on the fly */

typedef struct {
    uint8_t *out;
    size_t cap;
    size_t pos;
    size_t code_pos;   /* where the current block's code byte goes */
    uint8_t code;      /* 1 + data bytes in the current block */
    uint8_t open;      /* a block is open (its code byte reserved) */
    uint8_t failed;    /* out of space */
    uint16_t crc;
} ew_writer;

static void w_open(ew_writer *w)
{
    if (w->pos >= w->cap) {
        w->failed = 1;
        return;
    }
    w->code_pos = w->pos++;
    w->code = 1;
    w->open = 1;
}

static void w_cobs(ew_writer *w, uint8_t byte)
{
    if (!w->open) {
        w_open(w);
    }
    if (w->failed) {
        return;
    }
    if (byte == 0) {
        w->out[w->code_pos] = w->code;   /* block ends in an implied zero */
        w_open(w);
        return;
    }
    if (w->pos >= w->cap) {
        w->failed = 1;
        return;
    }
    w->out[w->pos++] = byte;
    if (++w->code == 0xFFu) {
        w->out[w->code_pos] = 0xFFu;     /* full block, no implied zero */
        w->open = 0;
    }
}

static void w_byte(ew_writer *w, uint8_t byte)
{
    w->crc = crc16_byte(w->crc, byte);
    w_cobs(w, byte);
}

static void w_u16(ew_writer *w, uint16_t v)
{
    w_byte(w, (uint8_t)(v & 0xFFu));
    w_byte(w, (uint8_t)(v >> 8));
}

static void w_u32(ew_writer *w, uint32_t v)
{
    w_u16(w, (uint16_t)(v & 0xFFFFu));
    w_u16(w, (uint16_t)(v >> 16));
}

static void w_f32(ew_writer *w, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    w_u32(w, bits);
}

static void w_bytes(ew_writer *w, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        w_byte(w, data[i]);
    }
}

static void w_start(ew_writer *w, uint8_t type, uint16_t seq, uint8_t *out, size_t cap)
{
    w->out = out;
    w->cap = out ? cap : 0u;
    w->pos = 0;
    w->code_pos = 0;
    w->code = 1;
    w->open = 0;
    w->failed = 0;
    w->crc = 0xFFFFu;
    w_open(w);
    w_byte(w, (uint8_t)EW_PROTOCOL_VERSION);
    w_byte(w, type);
    w_u16(w, seq);
}

static size_t w_finish(ew_writer *w)
{
    uint16_t crc = w->crc;
    w_cobs(w, (uint8_t)(crc & 0xFFu));
    w_cobs(w, (uint8_t)(crc >> 8));
    if (w->failed || w->pos >= w->cap) {
        return 0;
    }
    if (w->open) {
        w->out[w->code_pos] = w->code;
    }
    w->out[w->pos++] = 0x00u;
    return w->pos;
}

size_t ew_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst)
{
    ew_writer w;
    size_t i;
    memset(&w, 0, sizeof w);
    w.out = dst;
    w.cap = len + len / 254u + 1u;
    w_open(&w);
    for (i = 0; i < len; i++) {
        w_cobs(&w, src[i]);
    }
    if (w.open) {
        w.out[w.code_pos] = w.code;
    }
    return w.pos;
}

/* ---------------------------------------------------------------- UTF-8 (Unicode Table 3-7) */

static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0, k, need;
    while (i < n) {
        uint8_t c = s[i], lo = 0x80u, hi = 0xBFu;
        if (c < 0x80u) {
            i++;
            continue;
        }
        if (c >= 0xC2u && c <= 0xDFu) {
            need = 1;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            need = 2;
            lo = (c == 0xE0u) ? 0xA0u : 0x80u;
            hi = (c == 0xEDu) ? 0x9Fu : 0xBFu;
        } else if (c >= 0xF0u && c <= 0xF4u) {
            need = 3;
            lo = (c == 0xF0u) ? 0x90u : 0x80u;
            hi = (c == 0xF4u) ? 0x8Fu : 0xBFu;
        } else {
            return 0;
        }
        if (n - i - 1u < need || s[i + 1u] < lo || s[i + 1u] > hi) {
            return 0;
        }
        for (k = 2; k <= need; k++) {
            if (s[i + k] < 0x80u || s[i + k] > 0xBFu) {
                return 0;
            }
        }
        i += need + 1u;
    }
    return 1;
}

/* ---------------------------------------------------------------- encoders */

size_t ew_encode_payload(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                         uint8_t *out, size_t cap)
{
    ew_writer w;
    if (len > EW_MAX_PAYLOAD || (len > 0u && payload == NULL)) {
        return 0;
    }
    w_start(&w, type, seq, out, cap);
    w_bytes(&w, payload, len);
    return w_finish(&w);
}

static int samples_fit(uint8_t channels, uint16_t count, size_t size, const void *values)
{
    size_t n = (size_t)count * channels;
    return channels > 0u && (n == 0u || values != NULL)
           && n * size <= EW_MAX_PAYLOAD - EW_SAMPLES_HEADER;
}

size_t ew_encode_samples_i16(uint16_t seq, uint8_t channels, uint16_t count, const int16_t *values,
                             uint8_t *out, size_t cap)
{
    ew_writer w;
    size_t i, n = (size_t)count * channels;
    if (!samples_fit(channels, count, 2u, values)) {
        return 0;
    }
    w_start(&w, EW_MSG_SAMPLES, seq, out, cap);
    w_byte(&w, channels);
    w_byte(&w, EW_SAMPLE_INT16);
    w_u16(&w, count);
    for (i = 0; i < n; i++) {
        w_u16(&w, (uint16_t)values[i]);
    }
    return w_finish(&w);
}

size_t ew_encode_samples_f32(uint16_t seq, uint8_t channels, uint16_t count, const float *values,
                             uint8_t *out, size_t cap)
{
    ew_writer w;
    size_t i, n = (size_t)count * channels;
    if (!samples_fit(channels, count, 4u, values)) {
        return 0;
    }
    w_start(&w, EW_MSG_SAMPLES, seq, out, cap);
    w_byte(&w, channels);
    w_byte(&w, EW_SAMPLE_FLOAT32);
    w_u16(&w, count);
    for (i = 0; i < n; i++) {
        w_f32(&w, values[i]);
    }
    return w_finish(&w);
}

size_t ew_encode_label(uint16_t seq, uint16_t label, float confidence, uint8_t *out, size_t cap)
{
    ew_writer w;
    w_start(&w, EW_MSG_RESULT, seq, out, cap);
    w_byte(&w, EW_RESULT_LABEL);
    w_u16(&w, label);
    w_f32(&w, confidence);
    return w_finish(&w);
}

size_t ew_encode_score(uint16_t seq, float score, float threshold, uint8_t *out, size_t cap)
{
    ew_writer w;
    w_start(&w, EW_MSG_RESULT, seq, out, cap);
    w_byte(&w, EW_RESULT_SCORE);
    w_f32(&w, score);
    w_f32(&w, threshold);
    return w_finish(&w);
}

size_t ew_encode_heartbeat(uint16_t seq, uint32_t uptime_ms, uint8_t *out, size_t cap)
{
    ew_writer w;
    w_start(&w, EW_MSG_HEARTBEAT, seq, out, cap);
    w_u32(&w, uptime_ms);
    return w_finish(&w);
}

size_t ew_encode_log(uint16_t seq, uint8_t level, const char *text, size_t len, uint8_t *out, size_t cap)
{
    ew_writer w;
    if (level > EW_LOG_CRITICAL || len > EW_MAX_TEXT || (len > 0u && text == NULL)
        || !utf8_valid((const uint8_t *)text, len)) {
        return 0;
    }
    w_start(&w, EW_MSG_LOG, seq, out, cap);
    w_byte(&w, level);
    w_bytes(&w, (const uint8_t *)text, len);
    return w_finish(&w);
}

static int config_fits(const ew_config_entry *entries, uint8_t count)
{
    size_t i, size = 1u;
    for (i = 0; i < count; i++) {
        const ew_config_entry *e = &entries[i];
        if (e->key_len == 0u || e->key == NULL || (e->value_len > 0u && e->value == NULL)
            || !utf8_valid((const uint8_t *)e->key, e->key_len)
            || !utf8_valid((const uint8_t *)e->value, e->value_len)) {
            return 0;
        }
        size += 2u + e->key_len + e->value_len;
    }
    return size <= EW_MAX_PAYLOAD;
}

size_t ew_encode_config(uint16_t seq, const ew_config_entry *entries, uint8_t count,
                        uint8_t *out, size_t cap)
{
    ew_writer w;
    size_t i;
    if ((count > 0u && entries == NULL) || !config_fits(entries, count)) {
        return 0;
    }
    w_start(&w, EW_MSG_CONFIG, seq, out, cap);
    w_byte(&w, count);
    for (i = 0; i < count; i++) {
        w_byte(&w, entries[i].key_len);
        w_bytes(&w, (const uint8_t *)entries[i].key, entries[i].key_len);
        w_byte(&w, entries[i].value_len);
        w_bytes(&w, (const uint8_t *)entries[i].value, entries[i].value_len);
    }
    return w_finish(&w);
}

/* ---------------------------------------------------------------- decoding */

static uint16_t rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)rd_u16(p) | ((uint32_t)rd_u16(p + 2) << 16);
}

static float rd_f32(const uint8_t *p)
{
    uint32_t bits = rd_u32(p);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int ew_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t *out_len)
{
    size_t pos = 0, o = 0, i;
    if (len == 0u) {
        return EW_ERR_COBS;
    }
    while (pos < len) {
        uint8_t code = src[pos];
        if (code == 0u || (size_t)code > len - pos) {
            return EW_ERR_COBS;
        }
        for (i = 1; i < code; i++) {
            if (src[pos + i] == 0u) {
                return EW_ERR_COBS;
            }
            dst[o++] = src[pos + i];
        }
        pos += code;
        if (code != 0xFFu && pos < len) {
            dst[o++] = 0u;
        }
    }
    *out_len = o;
    return EW_OK;
}

static int check_payload(const ew_frame *f)
{
    ew_samples s;
    ew_result r;
    ew_log l;
    ew_config_iter it;
    uint32_t up;
    switch (f->type) {
    case EW_MSG_SAMPLES: return ew_get_samples(f, &s);
    case EW_MSG_RESULT: return ew_get_result(f, &r);
    case EW_MSG_HEARTBEAT: return ew_get_heartbeat(f, &up);
    case EW_MSG_LOG: return ew_get_log(f, &l);
    case EW_MSG_CONFIG: return ew_get_config(f, &it);
    default: return EW_ERR_TYPE;
    }
}

int ew_decode_frame(uint8_t *buf, size_t len, ew_frame *frame)
{
    size_t raw_len = 0;
    int status;
    if (len > 0u && buf[len - 1u] == 0u) {
        len--;
    }
    if (len > EW_MAX_ENCODED) {
        return EW_ERR_OVERSIZE;
    }
    status = ew_cobs_decode(buf, len, buf, &raw_len);
    if (status != EW_OK) {
        return status;
    }
    if (raw_len < EW_HEADER_SIZE + EW_CRC_SIZE) {
        return EW_ERR_LENGTH;
    }
    if (raw_len > EW_MAX_FRAME) {
        return EW_ERR_OVERSIZE;
    }
    raw_len -= EW_CRC_SIZE;
    if (ew_crc16(0xFFFFu, buf, raw_len) != rd_u16(buf + raw_len)) {
        return EW_ERR_CRC;
    }
    if (buf[0] != EW_PROTOCOL_VERSION) {
        return EW_ERR_VERSION;
    }
    frame->version = buf[0];
    frame->type = buf[1];
    frame->seq = rd_u16(buf + 2);
    frame->payload = buf + EW_HEADER_SIZE;
    frame->payload_len = raw_len - EW_HEADER_SIZE;
    return check_payload(frame);
}

void ew_reader_init(ew_reader *reader)
{
    reader->len = 0;
    reader->discarding = 0;
}

int ew_reader_push(ew_reader *reader, uint8_t byte, ew_frame *frame)
{
    size_t len = reader->len;
    if (byte != 0u) {
        if (reader->discarding) {
            return EW_PENDING;
        }
        if (len >= EW_MAX_ENCODED) {
            reader->len = 0;
            reader->discarding = 1;
            return EW_ERR_OVERSIZE;
        }
        reader->buf[reader->len++] = byte;
        return EW_PENDING;
    }
    reader->len = 0;
    if (reader->discarding || len == 0u) {
        reader->discarding = 0;
        return EW_PENDING;
    }
    return ew_decode_frame(reader->buf, len, frame);
}

/* ---------------------------------------------------------------- accessors */

int ew_get_samples(const ew_frame *frame, ew_samples *out)
{
    const uint8_t *p = frame->payload;
    size_t size;
    if (frame->type != EW_MSG_SAMPLES) {
        return EW_ERR_ARG;
    }
    if (frame->payload_len < EW_SAMPLES_HEADER || p[0] == 0u || p[1] > EW_SAMPLE_FLOAT32) {
        return EW_ERR_FORMAT;
    }
    size = (p[1] == EW_SAMPLE_INT16) ? 2u : 4u;
    if (frame->payload_len - EW_SAMPLES_HEADER != (size_t)rd_u16(p + 2) * p[0] * size) {
        return EW_ERR_FORMAT;
    }
    out->channels = p[0];
    out->sample_type = p[1];
    out->count = rd_u16(p + 2);
    out->data = p + EW_SAMPLES_HEADER;
    return EW_OK;
}

int16_t ew_sample_i16(const ew_samples *samples, size_t index)
{
    uint16_t u = rd_u16(samples->data + 2u * index);
    return (int16_t)(u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u);
}

float ew_sample_f32(const ew_samples *samples, size_t index)
{
    return rd_f32(samples->data + 4u * index);
}

int ew_get_result(const ew_frame *frame, ew_result *out)
{
    const uint8_t *p = frame->payload;
    if (frame->type != EW_MSG_RESULT) {
        return EW_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (frame->payload_len == 7u && p[0] == EW_RESULT_LABEL) {
        out->kind = EW_RESULT_LABEL;
        out->label = rd_u16(p + 1);
        out->confidence = rd_f32(p + 3);
        return EW_OK;
    }
    if (frame->payload_len == 9u && p[0] == EW_RESULT_SCORE) {
        out->kind = EW_RESULT_SCORE;
        out->score = rd_f32(p + 1);
        out->threshold = rd_f32(p + 5);
        return EW_OK;
    }
    return EW_ERR_FORMAT;
}

int ew_get_heartbeat(const ew_frame *frame, uint32_t *uptime_ms)
{
    if (frame->type != EW_MSG_HEARTBEAT) {
        return EW_ERR_ARG;
    }
    if (frame->payload_len != 4u) {
        return EW_ERR_FORMAT;
    }
    *uptime_ms = rd_u32(frame->payload);
    return EW_OK;
}

int ew_get_log(const ew_frame *frame, ew_log *out)
{
    const uint8_t *p = frame->payload;
    if (frame->type != EW_MSG_LOG) {
        return EW_ERR_ARG;
    }
    if (frame->payload_len < 1u || p[0] > EW_LOG_CRITICAL
        || !utf8_valid(p + 1, frame->payload_len - 1u)) {
        return EW_ERR_FORMAT;
    }
    out->level = p[0];
    out->text = (const char *)(p + 1);
    out->len = frame->payload_len - 1u;
    return EW_OK;
}

/* Split one entry off the iterator without validating its text; 0 if it runs past the end. */
static int config_take(ew_config_iter *it, ew_config_entry *e)
{
    size_t left = (size_t)(it->end - it->next);
    if (left < 1u || left < 2u + it->next[0] || left < 2u + it->next[0] + it->next[1u + it->next[0]]) {
        return 0;
    }
    e->key_len = it->next[0];
    e->key = (const char *)(it->next + 1);
    e->value_len = it->next[1u + e->key_len];
    e->value = (const char *)(it->next + 2u + e->key_len);
    it->next += 2u + e->key_len + e->value_len;
    it->remaining--;
    return 1;
}

int ew_get_config(const ew_frame *frame, ew_config_iter *it)
{
    ew_config_iter probe;
    ew_config_entry e;
    if (frame->type != EW_MSG_CONFIG) {
        return EW_ERR_ARG;
    }
    if (frame->payload_len < 1u) {
        return EW_ERR_FORMAT;
    }
    it->next = frame->payload + 1;
    it->end = frame->payload + frame->payload_len;
    it->remaining = frame->payload[0];
    probe = *it;
    while (probe.remaining > 0u) {
        if (!config_take(&probe, &e) || e.key_len == 0u
            || !utf8_valid((const uint8_t *)e.key, e.key_len)
            || !utf8_valid((const uint8_t *)e.value, e.value_len)) {
            return EW_ERR_FORMAT;
        }
    }
    return probe.next == probe.end ? EW_OK : EW_ERR_FORMAT;
}

int ew_config_next(ew_config_iter *it, ew_config_entry *entry)
{
    if (it->remaining == 0u) {
        return 0;
    }
    return config_take(it, entry);
}
