#!/usr/bin/env python3
"""The training metric outputs that czoo wrote (test_train_tb, the fixture)
read back by the reference tools:
- run/ and killed/: TensorBoard's own reader (EventAccumulator, tensorboard
  from PyPI) must find exactly the scalars of expected_<dir>.tsv: the same
  tags, and per tag the same steps and float32 values, in order (exact:
  the values are compared as float32 bit patterns). The event file's name
  must follow TensorBoard's pattern events.out.tfevents.<%010d seconds>.
  <hostname>.<pid>.<n>, and its file_version must read as 2.
- run/ once more against torch.utils.tensorboard.SummaryWriter (what the
  tool we replace uses) given the same scalars in the same order: every
  record, parsed with TensorBoard's record reader and event_pb2, with
  wall_time cleared (and the writer name of source_metadata), must
  serialize to the same bytes; and each of our records must already be
  protobuf's canonical serialization of itself.
- summary.csv: parsed with the csv module and written again, row by row,
  by timm's update_summary (timm.utils.summary) into a new file, which must
  be byte-identical to czoo's (same header, number text and line ends).
Usage: check_train_tb.py DIR"""
import csv
import os
import re
import socket
import struct
import sys
import tempfile
import time
from collections import OrderedDict

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from timm.utils.summary import update_summary


def f32(bits_hex):
    return struct.unpack("<f", struct.pack("<I", int(bits_hex, 16)))[0]


def check_events(root, name):
    expected = {}
    with open(os.path.join(root, "expected_%s.tsv" % name)) as f:
        for line in f:
            tag, step, bits = line.rstrip("\n").split("\t")
            expected.setdefault(tag, []).append((int(step), f32(bits)))
    run = os.path.join(root, name)
    files = os.listdir(run)
    assert len(files) == 1, "%s: expected one event file, found %s" % (run, files)
    m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)", files[0])
    assert m, "%s: not TensorBoard's event file name pattern" % files[0]
    assert m.group(2) == socket.gethostname(), "host %r != %r" % (m.group(2), socket.gethostname())
    assert abs(int(m.group(1)) - time.time()) < 3600, "timestamp %s is not now" % m.group(1)
    acc = EventAccumulator(run, size_guidance={"scalars": 0})
    acc.Reload()
    assert acc.file_version == 2.0, "file_version %r" % acc.file_version
    tags = sorted(acc.Tags()["scalars"])
    assert tags == sorted(expected), "%s: tags %s, expected %s" % (name, tags, sorted(expected))
    for tag, want in expected.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert got == want, "%s %s: got %s, expected %s" % (name, tag, got, want)
    print("%s: %d tags, %d scalars read by EventAccumulator, all exact"
          % (name, len(tags), sum(len(v) for v in expected.values())))


def read_events(path):
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.tensorflow_stub import errors
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
    reader = PyRecordReader_New(path)
    out = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return out
        raw = reader.record()
        out.append((raw, event_pb2.Event.FromString(raw)))


def check_against_summary_writer(root):
    from torch.utils.tensorboard import SummaryWriter
    run = os.path.join(root, "run")
    ours = read_events(os.path.join(run, os.listdir(run)[0]))
    with tempfile.TemporaryDirectory() as tmp:
        w = SummaryWriter(log_dir=tmp)
        with open(os.path.join(root, "expected_run.tsv")) as f:
            for line in f:
                tag, step, bits = line.rstrip("\n").split("\t")
                w.add_scalar(tag, f32(bits), int(step))
        w.close()
        files = os.listdir(tmp)
        assert len(files) == 1
        theirs = read_events(os.path.join(tmp, files[0]))
    assert len(ours) == len(theirs), "%d records, SummaryWriter %d" % (len(ours), len(theirs))
    for i, ((raw, a), (_, b)) in enumerate(zip(ours, theirs)):
        assert a.SerializeToString() == raw, "record %d is not canonical protobuf" % i
        for e in (a, b):
            e.wall_time = 0
            if e.HasField("source_metadata"):
                e.source_metadata.writer = ""
        assert a.SerializeToString() == b.SerializeToString(), \
            "record %d: ours %s, SummaryWriter %s" % (i, a, b)
    print("run: %d records equal to torch SummaryWriter's (wall time aside)" % len(ours))


def check_summary(root):
    ours = os.path.join(root, "summary.csv")
    with open(ours, "rb") as f:
        data = f.read()
    with open(ours, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "summary.csv has no rows"
    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "summary.csv")
        for r in rows:
            update_summary(int(r["epoch"]),
                           OrderedDict(loss=float(r["train_loss"])),
                           OrderedDict(loss=float(r["eval_loss"]), top1=float(r["eval_top1"]),
                                       top5=float(r["eval_top5"])),
                           ref, lr=float(r["lr"]), write_header=None)
        with open(ref, "rb") as f:
            want = f.read()
    assert data == want, "summary.csv differs from timm's:\n%r\n%r" % (data, want)
    print("summary.csv: %d rows, byte-identical to timm's update_summary" % len(rows))


def main():
    root = sys.argv[1]
    check_events(root, "run")
    check_events(root, "killed")
    check_against_summary_writer(root)
    check_summary(root)


if __name__ == "__main__":
    main()
