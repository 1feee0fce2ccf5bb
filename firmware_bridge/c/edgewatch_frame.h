/*
 * edgewatch_frame.h - reference C99 implementation of the edgewatch serial frame, v1.
 *
 * Copy edgewatch_frame.c and edgewatch_frame.h into a firmware project. No malloc,
 * no stdio, fixed buffers; needs <stdint.h>, <stddef.h>, <string.h> and IEEE-754
 * 32-bit floats. The byte layout is specified in docs/protocol.md of edgewatch:
 *
 *     COBS( version u8 | type u8 | seq u16 | payload | crc16 u16 ) 0x00
 *
 * little-endian, no padding, CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no
 * reflection, xorout 0; check value 0x29B1) over version..payload.
 *
 * Sending: call one ew_encode_* function with an output buffer of EW_MAX_WIRE bytes;
 * it returns the number of bytes to write to the UART (delimiter included), or 0.
 * Receiving: push each received byte into an ew_reader; when a frame completes,
 * EW_OK is returned with an ew_frame whose payload is already validated, and the
 * ew_get_* accessors read it.
 */
#ifndef EDGEWATCH_FRAME_H
#define EDGEWATCH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EW_PROTOCOL_VERSION 1u
#define EW_HEADER_SIZE 4u  /* version, type, seq */
#define EW_CRC_SIZE 2u
#define EW_MAX_PAYLOAD 1024u
#define EW_MAX_FRAME (EW_HEADER_SIZE + EW_MAX_PAYLOAD + EW_CRC_SIZE)   /* 1030, before COBS */
#define EW_MAX_ENCODED (EW_MAX_FRAME + (EW_MAX_FRAME + 253u) / 254u)   /* 1035, after COBS */
#define EW_MAX_WIRE (EW_MAX_ENCODED + 1u)                              /* 1036, with 0x00 */
#define EW_MAX_TEXT (EW_MAX_PAYLOAD - 1u)                              /* log text bytes */

enum ew_msg_type {
    EW_MSG_SAMPLES = 0x01,
    EW_MSG_RESULT = 0x02,
    EW_MSG_HEARTBEAT = 0x03,
    EW_MSG_LOG = 0x04,
    EW_MSG_CONFIG = 0x05
};

enum ew_sample_type { EW_SAMPLE_INT16 = 0, EW_SAMPLE_FLOAT32 = 1 };
enum ew_result_kind { EW_RESULT_LABEL = 0, EW_RESULT_SCORE = 1 };
enum ew_log_level { EW_LOG_DEBUG = 0, EW_LOG_INFO = 1, EW_LOG_WARNING = 2, EW_LOG_ERROR = 3, EW_LOG_CRITICAL = 4 };

/* Results. Negative values name why a received frame was dropped. */
typedef enum {
    EW_OK = 0,
    EW_PENDING = 1,        /* reader: no complete frame yet */
    EW_ERR_COBS = -1,      /* broken COBS structure */
    EW_ERR_LENGTH = -2,    /* decoded frame shorter than header + CRC */
    EW_ERR_OVERSIZE = -3,  /* frame longer than EW_MAX_ENCODED / EW_MAX_FRAME */
    EW_ERR_CRC = -4,       /* CRC mismatch */
    EW_ERR_VERSION = -5,   /* intact frame of another protocol version */
    EW_ERR_TYPE = -6,      /* intact frame of an unknown message type */
    EW_ERR_FORMAT = -7,    /* payload layout does not match the type */
    EW_ERR_ARG = -8        /* accessor called for the wrong message type */
} ew_status;

/* A decoded frame; payload points into the buffer it was decoded in. */
typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload;
    size_t payload_len;
} ew_frame;

typedef struct {
    uint8_t channels;
    uint8_t sample_type;   /* enum ew_sample_type */
    uint16_t count;        /* rows; values are count * channels, row-major */
    const uint8_t *data;   /* little-endian values; read them with ew_sample_* */
} ew_samples;

typedef struct {
    uint8_t kind;          /* enum ew_result_kind */
    uint16_t label;        /* LABEL */
    float confidence;      /* LABEL */
    float score;           /* SCORE */
    float threshold;       /* SCORE */
} ew_result;

typedef struct {
    uint8_t level;         /* enum ew_log_level */
    const char *text;      /* UTF-8, NOT NUL-terminated */
    size_t len;
} ew_log;

typedef struct {
    const char *key;       /* UTF-8, not NUL-terminated, 1..255 bytes */
    uint8_t key_len;
    const char *value;     /* UTF-8, not NUL-terminated, 0..255 bytes */
    uint8_t value_len;
} ew_config_entry;

typedef struct {
    const uint8_t *next;
    const uint8_t *end;
    uint8_t remaining;     /* entries not yet returned by ew_config_next */
} ew_config_iter;

/* Streaming receiver: one per link direction. ~1 KiB. */
typedef struct {
    uint8_t buf[EW_MAX_ENCODED];
    size_t len;
    uint8_t discarding;    /* dropping the rest of an over-long frame */
} ew_reader;

/* CRC-16/CCITT-FALSE; start with crc = 0xFFFF. */
uint16_t ew_crc16(uint16_t crc, const uint8_t *data, size_t len);

/* COBS. Encode: dst holds len + len / 254 + 1 bytes; returns bytes written (no delimiter).
 * Decode: dst may equal src; returns EW_OK or EW_ERR_COBS, *out_len = decoded length. */
size_t ew_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst);
int ew_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t *out_len);

/* Encoders: write one complete frame (0x00 delimiter included) to out and return its
 * length, or 0 if an argument is out of range or cap is too small (EW_MAX_WIRE always fits).
 * ew_encode_payload frames any bytes as any type WITHOUT checking the payload layout;
 * the typed encoders below check everything a receiver checks. */
size_t ew_encode_payload(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                         uint8_t *out, size_t cap);
size_t ew_encode_samples_i16(uint16_t seq, uint8_t channels, uint16_t count, const int16_t *values,
                             uint8_t *out, size_t cap);
size_t ew_encode_samples_f32(uint16_t seq, uint8_t channels, uint16_t count, const float *values,
                             uint8_t *out, size_t cap);
size_t ew_encode_label(uint16_t seq, uint16_t label, float confidence, uint8_t *out, size_t cap);
size_t ew_encode_score(uint16_t seq, float score, float threshold, uint8_t *out, size_t cap);
size_t ew_encode_heartbeat(uint16_t seq, uint32_t uptime_ms, uint8_t *out, size_t cap);
size_t ew_encode_log(uint16_t seq, uint8_t level, const char *text, size_t len, uint8_t *out, size_t cap);
size_t ew_encode_config(uint16_t seq, const ew_config_entry *entries, uint8_t count,
                        uint8_t *out, size_t cap);

/* Decode one frame in place: buf holds the COBS bytes, optionally ending in its 0x00.
 * EW_OK means the frame and its payload are valid; frame->payload points into buf. */
int ew_decode_frame(uint8_t *buf, size_t len, ew_frame *frame);

/* Receiver: feed every byte. Returns EW_PENDING, EW_OK (frame filled, valid until the
 * next push), or a negative status once per dropped frame. Empty frames are ignored. */
void ew_reader_init(ew_reader *reader);
int ew_reader_push(ew_reader *reader, uint8_t byte, ew_frame *frame);

/* Accessors: EW_OK, EW_ERR_ARG for another message type, EW_ERR_FORMAT for a bad payload. */
int ew_get_samples(const ew_frame *frame, ew_samples *out);
int16_t ew_sample_i16(const ew_samples *samples, size_t index);   /* index = row * channels + ch */
float ew_sample_f32(const ew_samples *samples, size_t index);
int ew_get_result(const ew_frame *frame, ew_result *out);
int ew_get_heartbeat(const ew_frame *frame, uint32_t *uptime_ms);
int ew_get_log(const ew_frame *frame, ew_log *out);
int ew_get_config(const ew_frame *frame, ew_config_iter *it);     /* validates every entry */
int ew_config_next(ew_config_iter *it, ew_config_entry *entry);   /* 1: entry filled, 0: done */

#ifdef __cplusplus
}
#endif

#endif /* EDGEWATCH_FRAME_H */
