"""Unit tests of the training package: run with
  /usr/bin/python3 -m unittest discover -s tools/train -p 'test_*.py'
(ctest runs them through tests/kernel/test_train_python.sh)."""
import os
import sys
import tempfile
import unittest
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as tdata  # noqa: E402
import export  # noqa: E402
from intmodel import (QLayer, QNet, act_range, preprocess, round_shift, run_image,  # noqa: E402
                      run_stream)
from model import STUDENT, Net  # noqa: E402


def random_qnet(seed, spec=((8, 3, 3, True, 2, 2), (4, 3, 3, True, 2, 2), (1, 1, 1, False, 1, 1)),
                shifts=(6, 8, 4)):
    rng = np.random.default_rng(seed)
    net, cin = QNet(d=4, in_shift=2), 1
    for (cout, kt, kw, relu, pw, pt), sh in zip(spec, shifts):
        net.layers.append(QLayer(cin, cout, kt, kw, sh, relu, pw, pt,
                                 rng.integers(-128, 128, (cout, cin, kt, kw)).astype(np.int8),
                                 rng.integers(-5000, 5000, cout).astype(np.int32)))
        cin = cout
    return net


class TestIntegerReference(unittest.TestCase):
    def test_round_shift_half_up(self):
        a = np.array([-3, -2, -1, 0, 1, 2, 3, 5, -5])
        self.assertEqual(round_shift(a, 1).tolist(), [-1, -1, 0, 0, 1, 1, 2, 3, -2])
        self.assertEqual(round_shift(a, 0).tolist(), a.tolist())

    def test_stream_equals_image(self):
        for seed in range(3):
            net = random_qnet(seed)
            x = np.random.default_rng(seed).integers(-3000, 3000, (96, 40)).astype(np.int16)
            a, b = run_image(net, x), run_stream(net, x)
            self.assertEqual(a.shape, (24, 10))
            self.assertTrue(np.array_equal(a, b))

    def test_saturation_reached(self):
        net = random_qnet(1, shifts=(0, 0, 0))
        x = np.full((48, 8), 32767, dtype=np.int16)
        s = run_image(net, x)
        self.assertTrue(np.abs(s).max() == 32767 or np.abs(s).min() == 32768)

    def test_int8_activation_ranges(self):
        """8-bit activations: input and signed hidden values in [-128, 127], ReLU outputs in
        [0, 255], the score int16; the streaming and whole-image forms agree."""
        self.assertEqual(act_range(8, True), (0, 255))
        self.assertEqual(act_range(8, False), (-128, 127))
        self.assertEqual(act_range(16, False), (-32768, 32767))
        with self.assertRaises(ValueError):
            act_range(12, True)
        net = random_qnet(2, spec=((6, 3, 3, True, 2, 2), (3, 3, 3, False, 2, 1),
                                   (1, 1, 1, False, 1, 1)), shifts=(4, 6, 0))
        net.act_bits = 8
        net.check()
        x = np.random.default_rng(2).integers(-400, 400, (96, 40)).astype(np.int16)
        s, acts = run_image(net, x, return_all=True)
        self.assertTrue(np.array_equal(s, run_stream(net, x)))
        self.assertEqual((int(acts[0].min()), int(acts[0].max())), (0, 255))  # saturates
        self.assertEqual((int(acts[1].min()), int(acts[1].max())), (-128, 127))
        self.assertGreater(int(np.abs(s).max()), 255)  # the score layer is int16
        # the input saturates: x beyond int8 gives what sat8(x) gives
        self.assertTrue(np.array_equal(s, run_image(net, np.clip(x, -128, 127))))
        net.act_bits = 16
        self.assertFalse(np.array_equal(s, run_image(net, x)))

    def test_preprocess_pedestal_tracker(self):
        adc = np.full((2, 16 * 6), 1000, dtype=np.uint16)
        adc[1, 16:32] = 1010  # second column of wire 1 is 10 ADC above the first
        x, ped = preprocess(adc, 4, 4)
        self.assertEqual(x[0].tolist(), [0] * 6)
        self.assertEqual(x[1].tolist(), [0, 10, 0, 0, 0, 0])
        # ped moved up by one 1/16-ADC step after the positive column, then back down
        self.assertEqual(ped.tolist(), [16000, 16000])
        # blocks carry state: two halves == whole
        rng = np.random.default_rng(0)
        adc = rng.integers(800, 1200, (5, 16 * 20)).astype(np.uint16)
        xa, pa = preprocess(adc, 4, 2)
        x1, p1 = preprocess(adc[:, : 16 * 7], 4, 2)
        x2, p2 = preprocess(adc[:, 16 * 7 :], 4, 2, ped=p1)
        self.assertTrue(np.array_equal(xa, np.concatenate([x1, x2], axis=1)))
        self.assertTrue(np.array_equal(pa, p2))


class TestQAT(unittest.TestCase):
    def test_fake_quant_matches_integer_model(self):
        torch.manual_seed(0)
        net = Net(STUDENT)
        x = torch.randint(-60, 400, (2, 1, 96, 64)).float()
        net.calibrate(x)
        q = net.export(4, 2)
        with torch.no_grad():
            fq = net(x, quant=True).numpy() * 2.0 ** net.score_frac_bits()
        for i in range(2):
            ref = run_image(q, x[i, 0].numpy().astype(np.int16))
            self.assertLessEqual(np.abs(fq[i] - ref).max(), 1.0)  # float32 accumulation only
            self.assertGreater((fq[i] == ref).mean(), 0.99)

    def test_fake_quant_matches_integer_model_int8(self):
        torch.manual_seed(1)
        net = Net(STUDENT, act_bits=8)
        x = torch.randint(-200, 400, (2, 1, 96, 64)).float()
        net.calibrate(x)
        q = net.export(4, 2)
        self.assertEqual(q.act_bits, 8)
        with torch.no_grad():
            fq = net(x, quant=True).numpy() * 2.0 ** net.score_frac_bits()
        for i in range(2):
            ref = run_image(q, x[i, 0].numpy().astype(np.int16))
            self.assertLessEqual(np.abs(fq[i] - ref).max(), 1.0)
            self.assertGreater((fq[i] == ref).mean(), 0.99)
        _, acts = run_image(q, x[0, 0].numpy().astype(np.int16), return_all=True)
        self.assertLessEqual(int(acts[0].max()), 255)

    def test_pruning_keeps_zeros(self):
        net = Net(STUDENT)
        net.prune(0.5)
        w = net.layers[0].weight().detach()
        self.assertGreaterEqual(int((w == 0).sum()), w.numel() // 2)


class TestFormats(unittest.TestCase):
    def test_wibeth_pack_unpack_bits(self):
        rng = np.random.default_rng(3)
        adc = rng.integers(0, 0x4000, (3, 64, 64)).astype(np.uint16)
        buf = tdata.pack_frames(adc, np.array([0, 2048, 4096], dtype=np.uint64))
        ts, back = tdata.unpack_frames(buf)
        self.assertTrue(np.array_equal(back, adc))
        words = np.frombuffer(buf, dtype="<u8").reshape(3, 900)[:, 4:].reshape(3, 64, 14)
        block = int.from_bytes(words[1, 9].tobytes(), "little")
        self.assertEqual([(block >> (14 * i)) & 0x3FFF for i in range(64)], adc[1, 9].tolist())

    def test_collection_map(self):
        st, ch = tdata.collection_map(2)
        self.assertEqual(len(st), 96)
        self.assertEqual((st[0], ch[0]), (1, 16))
        self.assertEqual((st[47], ch[47]), (1, 63))
        self.assertEqual((st[48], ch[48]), (3, 16))

    def test_read_run_file(self):
        """A run file in the hdf5libs TimeSlice layout (written here with h5py) reads back into
        the collection-wire image, across slices, with the truth of the requested cell."""
        import h5py

        rng = np.random.default_rng(4)
        n_fembs, P, per_slice = 2, 6, 3
        adc = rng.integers(0, 0x4000, (2 * n_fembs, P * 64, 64)).astype(np.uint16)
        t0 = 2048 * 1000
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.h5")
            with h5py.File(path, "w") as f:
                for sl in range(P // per_slice):
                    g = f.create_group(f"TimeSlice{sl + 1:06d}/RawData")
                    for cell in (0, 1):
                        for s in range(2 * n_fembs):
                            p0 = sl * per_slice
                            a = adc[s, p0 * 64 : (p0 + per_slice) * 64].reshape(per_slice, 64, 64)
                            ts = t0 + 2048 * np.arange(p0, p0 + per_slice, dtype=np.uint64)
                            hdr = np.zeros(72, dtype=np.uint8)
                            hdr[:4] = np.frombuffer((0x11112222).to_bytes(4, "little"), np.uint8)
                            frames = tdata.pack_frames(a, ts, cell, s)
                            payload = np.frombuffer(frames, dtype=np.uint8)
                            blob = np.concatenate([hdr, payload]).view(np.int8)
                            name = f"Detector_Readout_0x{(cell << 8) | s:08x}_WIBEth"
                            g.create_dataset(name, data=blob.reshape(-1, 1))
                tr = np.zeros(2, dtype=tdata.TRUTH_DTYPE)
                tr["cell"] = [0, 1]
                tr["kind"] = [1, 2]
                tg = f.create_group("Truth")  # lib/hdf5/h5raw_truth.c: attributes, no dataset
                tg.attrs["n_rows"] = np.uint64(len(tr))
                tg.attrs["rows_per_block"] = np.uint64(65536)
                tg.attrs["block_000000"] = tr
            run = tdata.read_run(path, cell=1)
            runx = tdata.read_run(path, cell=1, d=4, in_shift=2, keep_raw_samples=128)
        # slice-by-slice preprocessing (pedestal state carried) == whole-run preprocessing
        self.assertTrue(np.array_equal(runx["x"], preprocess(run["adc"], 4, 2)[0]))
        self.assertTrue(np.array_equal(runx["raw"], adc[:, :128]))
        self.assertEqual(run["first_tick"], t0)
        self.assertEqual(run["adc"].shape, (96, P * 64))
        self.assertEqual(len(run["truth"]), 1)
        self.assertEqual(int(run["truth"]["kind"][0]), 2)
        st, ch = tdata.collection_map(n_fembs)
        for wire in (0, 47, 48, 95):
            self.assertTrue(np.array_equal(run["adc"][wire], adc[st[wire], :, ch[wire]]))

    def test_weights_roundtrip_and_crc(self):
        net = random_qnet(5)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "w.ltw")
            crc = export.write_weights(net, p, "unit test", 123)
            with open(p, "rb") as f:
                b = f.read()
            self.assertEqual(b[:8], b"LARTRIGW")
            self.assertEqual(crc, zlib.crc32(b[:-4]))
            self.assertEqual(crc, int.from_bytes(b[-4:], "little"))
            back, thr, name, _ = export.read_weights(p)
            self.assertEqual((thr, name), (123, "unit test"))
            for l1, l2 in zip(net.layers, back.layers):
                self.assertTrue(np.array_equal(l1.w, l2.w) and np.array_equal(l1.b, l2.b))
            self.assertEqual((b[8], b[13]), (2, 16))  # version 2, activation width
            net.act_bits = 8
            export.write_weights(net, p, "int8", 5)
            self.assertEqual(export.read_weights(p)[0].act_bits, 8)
            # a version 1 file (byte 13 reserved = 0) reads as int16; unknown versions fail
            v1 = bytearray(b)
            v1[8], v1[13] = 1, 0
            v1[-4:] = zlib.crc32(bytes(v1[:-4])).to_bytes(4, "little")
            with open(p, "wb") as f:
                f.write(v1)
            self.assertEqual(export.read_weights(p)[0].act_bits, 16)
            v1[8] = 3
            v1[-4:] = zlib.crc32(bytes(v1[:-4])).to_bytes(4, "little")
            with open(p, "wb") as f:
                f.write(v1)
            with self.assertRaisesRegex(ValueError, "version 3"):
                export.read_weights(p)
            bad = bytearray(b)
            bad[60] ^= 1
            with open(p, "wb") as f:
                f.write(bad)
            with self.assertRaises(ValueError):
                export.read_weights(p)


class TestSumNet(unittest.TestCase):
    """sumnet.py's network (the committed cnn.ltw since session 5) computes, in the integer
    model the C kernel is checked against, the windowed sum of each pixel's charge above the
    cut (and below the clip), and screen_sums.py's fast score is the same map."""

    def direct(self, x, t, c, kt, kw, shift):
        y = np.maximum(x.astype(np.int64) - 4 * t, 0)
        if c is not None:
            y = np.minimum(y, 4 * (c - t))
        W, T = y.shape
        out = np.zeros_like(y)
        for j in range(W):
            for k in range(T):
                out[j, k] = y[max(0, j - kw // 2):j + kw // 2 + 1, max(0, k - kt + 1):k + 1].sum()
        return round_shift(out, shift)

    def test_sum_net_is_the_clipped_window_sum(self):
        import screen_sums
        from sumnet import sum_net
        rng = np.random.default_rng(5)
        x = rng.integers(-60, 400, (24, 30)).astype(np.int16)
        for t, c, (kt, kw), shift in ((6, None, (3, 5), 2), (4, 40, (5, 3), 0)):
            net = sum_net(3, t, c, (kt, kw), shift2=shift)
            want = self.direct(x, t, c, kt, kw, shift)
            got = run_image(net, x).astype(np.int64)
            np.testing.assert_array_equal(got, want)
            # the fast screening score (whole-run box sums, no final shift) is the same map
            fast = screen_sums.score(x, (4, t, c if c is not None else 1e6, [(kw, kt)]))
            np.testing.assert_array_equal(round_shift(fast.astype(np.int64), shift), want)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "s.ltw")
                export.write_weights(net, path, "sum", 200)
                back, thr, name, _ = export.read_weights(path)
                self.assertEqual((thr, name, back.d, len(back.layers)), (200, "sum", 3, 2))
                np.testing.assert_array_equal(run_image(back, x), run_image(net, x))


if __name__ == "__main__":
    unittest.main()
