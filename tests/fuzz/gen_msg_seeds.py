#!/usr/bin/python3
"""gen_msg_seeds.py - seed corpora for the fuzz_msg_* targets

Builds the documented example of each message type (docs/protocol.md)
with python3-msgpack, independently of the C encoder, plus a few small
valid variants and invalid inputs, and writes them to
tests/fuzz/corpus/msg_<type>/. `--vectors` prints the hex of each
documented example instead, to check docs/protocol.md and
tests/unit/proto_msg_test.c against a second encoder.

Trust: writes test data only. Needs /usr/bin/python3 and python3-msgpack.
"""
import os
import sys

import msgpack

VERSION = 1
T_TELEMETRY, T_UPDATE, T_SNAPSHOT, T_STATUS, T_FEED = 1, 2, 3, 4, 5
TS = 1700000000000
SIG = bytes(range(64))
HASH33 = bytes([1]) + bytes(32)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def event_full():
    # keys: 0 ts_ms, 1 type, 2 ip, 3 verdict, 4 score, 5 flags, 6 helo,
    # 7 sender_domain, 8 country, 9 asn, 10 rcpt_ok, 11 rcpt_unknown,
    # 12 size, 13 reasons, 14 fps, 15 hashes, 16 urls, 17 rcpts
    return {0: TS, 1: 1, 2: bytes([192, 0, 2, 7]), 3: 3, 4: 12, 5: 0x09,
            6: "mx.example.net", 7: "example.net", 8: "DE", 9: 64500,
            10: 1, 11: 1, 12: 2048, 13: ["rbl", "spam-policy"],
            14: [b"\xfa\xce"], 15: [HASH33], 16: ["example.org"],
            17: [[b"\xaa\xbb\xcc\xdd", "example.com", 1],
                 [b"\xee\xff\x00\x11", "", 3]]}


def event_min(ts=1, ip=bytes([192, 0, 2, 7])):
    return {0: ts, 1: 1, 2: ip, 3: 0}


def telemetry(events, dropped=256):
    body = {0: "edge-1", 1: "fra", 2: 1234}
    if dropped:
        body[3] = dropped
    body[4] = events
    return pack([VERSION, T_TELEMETRY, body])


def status_full():
    return pack([VERSION, T_STATUS,
                 {0: "edge-1", 1: "fra", 2: 1, 3: TS, 4: "0.1.0", 5: 3600,
                  6: 12, 7: 340, 8: [["hub-a", 7, 1234]]}])


def status_min():
    return pack([VERSION, T_STATUS, {0: "edge-1", 1: "fra", 2: 2, 3: 0}])


# record keys: 0 kind, 1 op, 2 key, 3 ts_ms, 4 action, 5 score,
# 6 expires, 7 flags, 8 source, 9 reason, 10 data
REC_IP = {0: 1, 1: 1, 2: bytes([192, 0, 2, 7]), 3: TS, 4: 4, 5: 50,
          6: 1700000000, 7: 1, 8: "hub", 9: "spam-trap-hits",
          10: b"\x01\x02"}
REC_DOMAIN = {0: 3, 1: 2, 2: b"com.example", 3: TS, 4: 1}
REC_IP_MIN = {0: 1, 1: 1, 2: bytes([192, 0, 2, 7]), 3: TS}
REC_NET = {0: 2, 1: 1, 2: bytes([24, 198, 51, 100, 0]), 3: TS, 4: 4,
           5: 40, 6: 1700000000, 8: "drop"}


def update_body(records):
    # 0 hub_id, 1 epoch, 2 seq, 3 ts_ms, 7 records
    return pack({0: "hub-a", 1: 7, 2: 1235, 3: TS, 7: records})


def snapshot_body(records, index=0, count=2):
    return pack({0: "hub-a", 1: 7, 2: 1235, 3: TS, 4: 99, 5: index,
                 6: count, 7: records})


def feed_body(records):
    return pack({0: "spamhaus-drop", 1: "feed-1", 2: TS, 3: 5,
                 4: records})


def signed(mtype, body, sig=SIG):
    return pack([VERSION, mtype, body, sig])


VECTORS = {
    "telemetry": telemetry([event_full()]),
    "status": status_full(),
    "update": update_body([REC_IP, REC_DOMAIN]),
    "snapshot": snapshot_body([REC_IP_MIN]),
    "feed": feed_body([REC_NET]),
    "signed": signed(T_UPDATE, update_body([REC_IP, REC_DOMAIN])),
}


def seeds():
    """name -> {file: bytes}: valid variants first, then broken ones"""
    tele = VECTORS["telemetry"]
    upd = VECTORS["update"]
    snap = VECTORS["snapshot"]
    feed = VECTORS["feed"]
    st = VECTORS["status"]
    sg = VECTORS["signed"]
    deep = [[[[[[[[[[None]]]]]]]]]]
    return {
        "msg_telemetry": {
            "valid_full": tele,
            "valid_min": telemetry([event_min()], dropped=0),
            "valid_empty": telemetry([], dropped=0),
            "valid_v6_unknown_keys": pack([VERSION, T_TELEMETRY, {
                0: "e", 1: "p", 2: 1,
                4: [{**event_min(ip=bytes(16)), 30: {"x": 1.5}}],
                9: [1, -1, None, True]}]),
            "bad_trunc": tele[:len(tele) // 2],
            "bad_trail": tele + b"\xc0",
            "bad_version": pack([2, T_TELEMETRY, {}]),
            "bad_dup_key": pack([VERSION, T_TELEMETRY, {}])[:-1] +
            b"\x82\x00\xa1e\x00\xa1e",
            "bad_deep": pack([VERSION, T_TELEMETRY, {0: "e", 9: deep}]),
            "bad_huge_array": b"\xdd\xff\xff\xff\xff\x01",
        },
        "msg_status": {
            "valid_full": st,
            "valid_min": status_min(),
            "bad_state": pack([VERSION, T_STATUS,
                               {0: "e", 1: "p", 2: 9, 3: 0}]),
            "bad_trunc": st[:-3],
            "bad_type": pack([VERSION, T_TELEMETRY, {}]),
        },
        "msg_update": {
            "valid_full": upd,
            "valid_empty": update_body([]),
            "valid_one": update_body([REC_IP_MIN]),
            "bad_record_kind": update_body([{**REC_IP_MIN, 0: 9}]),
            "bad_missing": pack({0: "hub-a", 1: 7, 7: []}),
            "bad_order": pack({1: 7, 0: "hub-a"}),
            "bad_trunc": upd[:-5],
        },
        "msg_snapshot": {
            "valid_full": snap,
            "valid_last": snapshot_body([REC_NET, REC_DOMAIN], 1, 2),
            "bad_index": snapshot_body([], 2, 2),
            "bad_count": snapshot_body([], 0, 0),
            "bad_trunc": snap[:-1],
        },
        "msg_feed": {
            "valid_full": feed,
            "valid_three": feed_body([REC_NET, REC_IP, REC_DOMAIN]),
            "bad_who_empty": pack({0: "s", 1: "", 2: 1, 3: 1, 4: []}),
            "bad_key": feed_body([{**REC_NET, 2: b"\x18\xc6\x33\x64\x01"}]),
            "bad_trunc": feed[:7],
        },
        "msg_signed": {
            "valid_update": sg,
            "valid_snapshot": signed(T_SNAPSHOT, snap),
            "valid_feed": signed(T_FEED, feed),
            "bad_short_sig": signed(T_UPDATE, upd, SIG[:63]),
            "bad_unsigned_type": signed(T_STATUS, b"x"),
            "bad_three": pack([VERSION, T_UPDATE, upd]),
            "bad_trail": sg + b"\x00",
            "bad_body_len": b"\x94\x01\x02\xc6\xff\xff\xff\xff\x00",
        },
    }


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--vectors":
        for name, data in VECTORS.items():
            print(name, data.hex())
        return 0
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "corpus")
    for target, files in seeds().items():
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
