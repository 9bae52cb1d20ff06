"""Conformance of raw-data HDF5 files with what DUNE-DAQ's own software reads (h5py + numpy).

Every expectation below is a fact from DUNE-DAQ's sources of the release lartrig follows
(docs/hdf5-layout.md, "Which DUNE release each structure follows"), not from lartrig's code:

  hdf5libs v2.8.0  src/HDF5RawDataFile.cpp   write_attribute() calls: run_number (run_number_t =
                   uint32), file_index and recorded_size (size_t), filelayout_version (uint32),
                   every other attribute a std::string -- creation_timestamp and
                   closing_timestamp are std::to_string(milliseconds); HighFive stores
                   std::string as a variable-length string and a char dataset as 8-bit ints.
                   get_all_fragment_dataset_paths(): every dataset reachable from the root whose
                   path lacks the record header name is read as a Fragment.
  hdf5libs         src/HDF5SourceIDHandler.cpp  JSON of source_id_geo_id_map and the record maps;
                   GeoID = stream << 48 | slot << 32 | crate << 16 | det_id.
  dfmodules        HDF5DataStore: operational_environment, offline_data_stream,
                   run_was_for_test_purposes ("true"/"false") as std::string.
  daqdataformats   FragmentHeader v5 (72 bytes, marker 0x11112222), TriggerRecordHeaderData v4.
  detdataformats   DAQEthHeader: version 6, det_id 6, crate_id 10, slot_id 4, stream_id 8,
                   reserved 6, seq_id 12, block_length 12 bits; then the timestamp.
  fddetdataformats WIBEthFrame: WIBEthHeader colddata_timestamp_0 15, pad_0 1,
                   colddata_timestamp_1 15, pad_1 1, cd 1, crc_err 2, link_valid 2, lol 1,
                   wib_sync 1, femb_sync 2, pulser 1, calibration 1, ready 1, context 8,
                   version 4, channel 8; extra_data; 64 x 14 ADC words. 7200 bytes.
  trgdataformats   TriggerObjectOverlay<TriggerCandidateData, TriggerActivityData>:
                   TriggerCandidateData v1 {u16 version; u64 time_start, time_end,
                   time_candidate; u16 detid; int type; int algorithm} (48 bytes), u64 n_inputs,
                   then n_inputs TriggerActivityData v1 (80 bytes).
  trigger          ModuleLevelTrigger: trigger_type = bitword with bit `tc.type` set for each
                   TriggerCandidate type of the decision.
  WIB              what a WIB (and DUNE's WIBEth emulators) fill: block_length = 7200/8 - 1,
                   link_valid both links, ready, COLDATA timestamps = low 15 bits of the
                   timestamp.

check_file(path, own=True) raises AssertionError naming the file, object and fact that fails.
own=False relaxes what only lartrig's own writers promise (WIB header values, lartrig's TC
mapping), for files laid out the way DUNE's writer does.
"""
import json

import h5py
import numpy as np

FILE_ATTRS = {  # name -> ("u", bytes) or ("s",)
    "run_number": ("u", 4),
    "file_index": ("u", 8),
    "creation_timestamp": ("s",),
    "application_name": ("s",),
    "filelayout_params": ("s",),
    "filelayout_version": ("u", 4),
    "source_id_geo_id_map": ("s",),
    "record_type": ("s",),
    "operational_environment": ("s",),
    "offline_data_stream": ("s",),
    "run_was_for_test_purposes": ("s",),
    "recorded_size": ("u", 8),
    "closing_timestamp": ("s",),
}
RECORD_ATTRS = ("record_header_source_id", "source_id_path_map", "fragment_type_source_id_map",
                "subdetector_source_id_map")
FH = np.dtype([("marker", "<u4"), ("version", "<u4"), ("size", "<u8"), ("trigger_number", "<u8"),
               ("trigger_timestamp", "<u8"), ("window_begin", "<u8"), ("window_end", "<u8"),
               ("run_number", "<u4"), ("error_bits", "<u4"), ("fragment_type", "<u4"),
               ("sequence_number", "<u2"), ("detector_id", "<u2"), ("sid_version", "<u2"),
               ("subsystem", "<u2"), ("sid", "<u4")])
TC = np.dtype({"names": ["version", "time_start", "time_end", "time_candidate", "detid", "type",
                         "algorithm", "n_inputs"],
               "formats": ["<u2", "<u8", "<u8", "<u8", "<u2", "<i4", "<i4", "<u8"],
               "offsets": [0, 8, 16, 24, 32, 36, 40, 48], "itemsize": 56})
TA = np.dtype({"names": ["version", "time_start", "time_end", "time_peak", "time_activity",
                         "channel_start", "channel_end", "channel_peak", "adc_integral",
                         "adc_peak", "detid", "type", "algorithm"],
               "formats": ["<u2", "<u8", "<u8", "<u8", "<u8", "<u4", "<u4", "<u4", "<u8", "<u2",
                           "<u2", "<i4", "<i4"],
               "offsets": [0, 8, 16, 24, 32, 40, 44, 48, 56, 64, 66, 68, 72], "itemsize": 80})
FRAG_WIBETH, FRAG_TC = 12, 8
SUBSYS_READOUT, SUBSYS_TRIGGER = 1, 3
TC_TYPES_V1 = range(0, 13)  # kUnknown .. kBundle


def bits(w, lo, n):
    return (w >> np.uint64(lo)) & np.uint64((1 << n) - 1)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def attr_type_ok(obj, name, spec):
    t = obj.attrs.get_id(name).get_type()
    if spec[0] == "s":
        return isinstance(t, h5py.h5t.TypeStringID) and t.is_variable_str()
    return (isinstance(t, h5py.h5t.TypeIntegerID) and t.get_size() == spec[1]
            and t.get_sign() == h5py.h5t.SGN_NONE and t.get_order() == h5py.h5t.ORDER_LE)


def check_attrs(path, f):
    for name, spec in FILE_ATTRS.items():
        assert name in f.attrs, f"{path}: /: attribute {name} missing"
        t = f.attrs.get_id(name).get_type()
        assert attr_type_ok(f, name, spec), \
            f"{path}: /: attribute {name} is an HDF5 {type(t).__name__} of {t.get_size()} bytes, " \
            f"hdf5libs writes {'a variable-length string' if spec[0] == 's' else f'u{8 * spec[1]}'}"
    for name in ("creation_timestamp", "closing_timestamp"):
        v = text(f.attrs[name])
        assert v.isdigit() and int(v) > 1_500_000_000_000, \
            f"{path}: /: {name} {v!r} is not decimal epoch milliseconds"
    assert int(f.attrs["closing_timestamp"]) >= int(f.attrs["creation_timestamp"])
    assert int(f.attrs["filelayout_version"]) == 5, f"{path}: filelayout_version"
    assert text(f.attrs["run_was_for_test_purposes"]) in ("true", "false")
    fl = json.loads(text(f.attrs["filelayout_params"]))
    assert fl["record_name_prefix"] == text(f.attrs["record_type"])
    return fl


def geo_map(path, f):
    m = {}
    for e in json.loads(text(f.attrs["source_id_geo_id_map"]))["map_entries"]:
        m[(e["subsys"], e["id"])] = [int(g) for g in e["geoids"]]
    return m


def fragment(path, ds):
    assert ds.dtype == np.int8 and ds.ndim == 2 and ds.shape[1] == 1, \
        f"{path}: {ds.name}: not hdf5libs' char dataset {{size, 1}} ({ds.dtype}, {ds.shape})"
    raw = ds[:, 0].view(np.uint8)
    assert len(raw) >= 72, f"{path}: {ds.name}: shorter than a FragmentHeader"
    h = np.frombuffer(raw[:72].tobytes(), FH)[0]
    assert h["marker"] == 0x11112222 and h["version"] == 5, \
        f"{path}: {ds.name}: not a FragmentHeader v5 (marker {h['marker']:#x})"
    assert h["size"] == len(raw), f"{path}: {ds.name}: FragmentHeader size != dataset size"
    return h, raw[72:]


def check_frames(path, name, payload, geoids, own):
    """DAQEthHeader/WIBEth header of every frame; returns (det, crate, slot, stream)."""
    assert len(payload) % 7200 == 0, f"{path}: {name}: payload not whole 7200-byte frames"
    n = len(payload) // 7200
    if n == 0:
        return None
    w = np.frombuffer(payload.tobytes(), "<u8").reshape(n, 900)
    d0, ts, wib = w[:, 0], w[:, 1], w[:, 2]
    det, crate, slot, stream = bits(d0, 6, 6), bits(d0, 12, 10), bits(d0, 22, 4), bits(d0, 26, 8)
    seq, block = bits(d0, 40, 12), bits(d0, 52, 12)
    assert np.all(bits(d0, 0, 6) == 1), f"{path}: {name}: DAQEthHeader version"
    for v, what in ((det, "det_id"), (crate, "crate_id"), (slot, "slot_id"),
                    (stream, "stream_id")):
        assert np.all(v == v[0]), f"{path}: {name}: {what} changes within the fragment"
    assert np.all(np.diff(ts.astype(np.int64)) == 2048), f"{path}: {name}: timestamps not 2048 apart"
    assert np.all(np.diff(seq.astype(np.int64)) % 4096 == 1), f"{path}: {name}: seq_id not +1"
    assert np.all(bits(wib, 15, 1) == 0) and np.all(bits(wib, 31, 1) == 0), \
        f"{path}: {name}: WIBEth pad bits set"
    addr = (int(det[0]), int(crate[0]), int(slot[0]), int(stream[0]))
    assert addr[0] != 0, f"{path}: {name}: det_id kUnknown"
    geo = [(g & 0xFFFF, (g >> 16) & 0xFFFF, (g >> 32) & 0xFFFF, (g >> 48) & 0xFFFF)
           for g in geoids]
    assert addr in geo, f"{path}: {name}: frames say det/crate/slot/stream {addr}, " \
        f"source_id_geo_id_map says {geo}"
    if own:
        assert np.all(block == 899), f"{path}: {name}: block_length {set(block.tolist())}, a WIB writes 899"
        assert np.all(bits(wib, 35, 2) == 3), f"{path}: {name}: link_valid not both links"
        assert np.all(bits(wib, 43, 1) == 1), f"{path}: {name}: ready not set"
        low = ts & np.uint64(0x7FFF)
        assert np.all(bits(wib, 0, 15) == low) and np.all(bits(wib, 16, 15) == low), \
            f"{path}: {name}: COLDATA timestamps are not the timestamp's low 15 bits"
    return addr


def check_trigger_candidates(path, name, payload, trh_ts, trigger_type, cells, own):
    off, types, n_tc = 0, 0, 0
    b = payload.tobytes()
    while off < len(b):
        assert len(b) - off >= 56, f"{path}: {name}: {len(b) - off} bytes left, not a TriggerCandidate"
        tc = np.frombuffer(b[off:off + 56], TC)[0]
        n = int(tc["n_inputs"])
        assert n <= (len(b) - off - 56) // 80, \
            f"{path}: {name}: n_inputs {n} larger than the payload (the 'LTTD' bug)"
        assert tc["version"] == 1, f"{path}: {name}: TriggerCandidateData version {tc['version']}"
        assert int(tc["type"]) in TC_TYPES_V1, f"{path}: {name}: TC type {tc['type']}"
        assert tc["time_start"] <= tc["time_end"], f"{path}: {name}: time_start > time_end"
        assert tc["time_candidate"] == trh_ts, f"{path}: {name}: time_candidate != trigger_timestamp"
        types |= 1 << int(tc["type"])
        tas = np.frombuffer(b[off + 56:off + 56 + 80 * n], TA)
        off += 56 + 80 * n
        n_tc += 1
        if not own:
            continue
        assert tc["detid"] == 3, f"{path}: {name}: TC detid"
        for ta in tas:
            assert ta["version"] == 1 and ta["type"] == 1 and ta["detid"] == 3, \
                f"{path}: {name}: TriggerActivityData version/type/detid"
            assert ta["time_start"] <= ta["time_peak"] <= ta["time_end"], f"{path}: {name}: TA times"
            assert tc["time_start"] <= ta["time_start"] and ta["time_end"] <= tc["time_end"], \
                f"{path}: {name}: TA outside its TC"
            cell = int(ta["channel_start"]) // 2560
            assert 1600 <= int(ta["channel_start"]) % 2560 and \
                ta["channel_start"] <= ta["channel_peak"] <= ta["channel_end"] < 2560 * (cell + 1), \
                f"{path}: {name}: TA channels {ta['channel_start']}..{ta['channel_end']} are not " \
                "collection wires of one APA"
            assert cell in cells, f"{path}: {name}: TA of cell {cell}, not read out in this record"
    assert n_tc >= 1, f"{path}: {name}: no TriggerCandidate"
    assert trigger_type == types, \
        f"{path}: {name}: trigger_type {trigger_type:#x}, the TCs' types give {types:#x}"


def check_file(path, own=True):
    """Every check above; returns a summary dict."""
    with h5py.File(path, "r") as f:
        fl = check_attrs(path, f)
        header_name = fl["record_header_dataset_name"]
        prefix = fl["record_name_prefix"]
        geo = geo_map(path, f)
        # hdf5libs get_all_fragment_dataset_paths(): every dataset not named like a header.
        all_ds = []
        f.visititems(lambda n, o: all_ds.append("/" + n) if isinstance(o, h5py.Dataset) else None)
        listed = set()
        summary = {"records": 0, "fragments": 0, "frames": 0, "tcs": 0}
        for rname in sorted(k for k in f if prefix in k):
            g = f[rname]
            summary["records"] += 1
            for a in RECORD_ATTRS:
                assert a in g.attrs and attr_type_ok(g, a, ("s",)), \
                    f"{path}: /{rname}: attribute {a} missing or not a string"
            paths = {(e["subsys"], e["id"]): e["path"]
                     for e in json.loads(text(g.attrs["source_id_path_map"]))["map_entries"]}
            hsid = json.loads(text(g.attrs["record_header_source_id"]))
            hpath = paths[(hsid["subsys"], hsid["id"])]
            assert header_name in hpath and hpath in f, f"{path}: /{rname}: record header path"
            trh = f[hpath][:, 0].view(np.uint8).tobytes()
            trh_ts = trigger_type = None
            if prefix == "TriggerRecord":
                assert int.from_bytes(trh[0:4], "little") == 0x33334444
                trh_ts = int.from_bytes(trh[16:24], "little")
                trigger_type = int.from_bytes(trh[40:48], "little")
            cells, tc_frags = set(), []
            for (subsys, sid), p in paths.items():
                listed.add(p)
                if p == hpath:
                    continue
                assert p in f, f"{path}: {p}: listed in source_id_path_map but missing"
                h, payload = fragment(path, f[p])
                assert (h["subsystem"], h["sid"]) == (subsys, sid), f"{path}: {p}: SourceID"
                summary["fragments"] += 1
                if h["fragment_type"] == FRAG_WIBETH:
                    assert (subsys, sid) in geo, \
                        f"{path}: {p}: no source_id_geo_id_map entry for its SourceID {sid:#x}"
                    addr = check_frames(path, p, payload, geo[(subsys, sid)], own)
                    summary["frames"] += len(payload) // 7200
                    for g64 in geo[(subsys, sid)]:
                        cells.add((g64 >> 16) & 0xFFFF)
                    if addr:
                        cells.add(addr[1])
                elif h["fragment_type"] == FRAG_TC:
                    tc_frags.append((p, payload))
            for p, payload in tc_frags:
                check_trigger_candidates(path, p, payload, trh_ts, trigger_type, cells, own)
                summary["tcs"] += 1
            if prefix == "TriggerRecord":
                assert tc_frags or not own, f"{path}: /{rname}: no Trigger_Candidate fragment"
        # No dataset that hdf5libs would take for a fragment may be anything else.
        for p in all_ds:
            if header_name in p:
                continue
            assert p in listed, f"{path}: {p}: a dataset outside the records' source_id_path_map: " \
                "hdf5libs' get_all_fragment_dataset_paths() lists it and get_dataset_raw_data fails"
            fragment(path, f[p])
        return summary
