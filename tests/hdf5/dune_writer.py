"""Test fixtures laid out the way DUNE-DAQ's own writer lays files out, with DUNE-style SourceID
numbering -- not lartrig's (cell << 8 | stream).

rewrite(src, dst_pattern, n_files) copies the records of a lartrig file (run file or
trigger-record file) with h5py, not with lartrig's writer, into n_files files named like
dfmodules' HDF5DataStore does for one run (<env>_raw_run<NNNNNN>_<NNNN>_<app>_<time>.hdf5):

  - attributes of hdf5libs v2.8.0 HDF5RawDataFile with its types (run_number u32, file_index
    and recorded_size u64, filelayout_version u32, every other one a variable-length string,
    timestamps as decimal milliseconds) and dfmodules' three string attributes;
  - readout SourceIDs renumbered as a DUNE readout configuration might number them
    (100 + a permutation), the record header's and trigger's SourceIDs too; FragmentHeader,
    TimeSliceHeader/TriggerRecordHeader and ComponentRequest SourceIDs patched to match;
  - source_id_geo_id_map built from each fragment's frames (DAQEthHeader det/crate/slot/stream),
    and the four record-level maps of HDF5SourceIDHandler;
  - char datasets {size, 1}, one per fragment, named <Subsystem>_0x%08x_<FragmentType>.

The frames themselves are not touched: a reader that finds cells and streams the way DUNE's
tools do (frames + GeoID map) sees the same data as in the original file.
"""
import json
import time

import h5py
import numpy as np

SUBSYS = {1: "Detector_Readout", 2: "HW_Signals_Interface", 3: "Trigger", 4: "TR_Builder"}
FRAGTYPE = {12: "WIBEth", 8: "Trigger_Candidate"}
STR = h5py.string_dtype("ascii")


def raw(ds):
    return bytearray(ds[:, 0].view(np.uint8).tobytes())


def put(f, name, value):
    if isinstance(value, str):
        f.attrs.create(name, value, dtype=STR)
    else:
        f.attrs.create(name, value)


def new_ids(old_sids):
    """DUNE-style ids for lartrig readout ids: 100 + a permutation of their order."""
    old = sorted(old_sids)
    n = len(old)
    from math import gcd
    step = next(s for s in range(2, n + 2) if gcd(s, n) == 1 and s % n != 1) if n > 2 else 1
    return {o: 100 + (k * step) % n for k, o in enumerate(old)}


def rewrite(src, dst_pattern, n_files=1, trigger_id=0x2711, header_id=0x2710):
    """Returns the list of files written. dst_pattern gets the 4-digit file index."""
    with h5py.File(src, "r") as f:
        rtype = f.attrs["record_type"]
        rtype = rtype.decode() if isinstance(rtype, bytes) else str(rtype)
        fl = f.attrs["filelayout_params"]
        fl = fl.decode() if isinstance(fl, bytes) else str(fl)
        hdr_name = json.loads(fl)["record_header_dataset_name"]
        run = int(f.attrs["run_number"])
        records = sorted(k for k in f if k.startswith(rtype))
        readout = set()
        old_geo = {e["id"]: e["geoids"] for e in
                   json.loads(str(f.attrs["source_id_geo_id_map"]))["map_entries"]}
        for r in records:
            for name in f[r]["RawData"]:
                if name.startswith("Detector_Readout_0x"):
                    readout.add(int(name[19:27], 16))
        ids = new_ids(readout)

        def new_sid(subsys, sid):
            return {1: ids.get(sid, sid), 3: trigger_id, 4: header_id}.get(subsys, sid)

        per_file = -(-len(records) // n_files)
        out = []
        for fi in range(n_files):
            path = dst_pattern % fi
            out.append(path)
            mine = records[fi * per_file:(fi + 1) * per_file]
            with h5py.File(path, "w") as g:
                put(g, "run_number", np.uint32(run))
                put(g, "file_index", np.uint64(fi))
                put(g, "creation_timestamp", str(int(time.time() * 1000)))
                put(g, "application_name", "dataflow0")
                put(g, "filelayout_params", fl)
                put(g, "filelayout_version", np.uint32(5))
                geo, recorded = {}, 0
                for r in mine:
                    rg = g.create_group(r).create_group("RawData")
                    paths, types, subdets = [], {}, {}
                    for name, ds in f[r]["RawData"].items():
                        b = raw(ds)
                        if name.endswith(hdr_name):
                            if rtype == "TimeSlice":  # TimeSliceHeader element_id at 24
                                b[28:32] = header_id.to_bytes(4, "little")
                            else:  # TriggerRecordHeader element_id at 56, then the requests
                                b[60:64] = header_id.to_bytes(4, "little")
                                for k in range(int.from_bytes(b[24:32], "little")):
                                    o = 64 + 32 * k + 8
                                    sub = int.from_bytes(b[o + 2:o + 4], "little")
                                    sid = int.from_bytes(b[o + 4:o + 8], "little")
                                    b[o + 4:o + 8] = new_sid(sub, sid).to_bytes(4, "little")
                            nname = f"TR_Builder_0x{header_id:08x}_{hdr_name}"
                            hsid = {"subsys": 4, "id": header_id}
                            paths.append({"subsys": 4, "id": header_id,
                                          "path": f"/{r}/RawData/{nname}"})
                        else:
                            sub = int.from_bytes(b[66:68], "little")
                            sid = int.from_bytes(b[68:72], "little")
                            ftype = int.from_bytes(b[56:60], "little")
                            det = int.from_bytes(b[62:64], "little")
                            nsid = new_sid(sub, sid)
                            b[68:72] = nsid.to_bytes(4, "little")
                            nname = f"{SUBSYS[sub]}_0x{nsid:08x}_{FRAGTYPE[ftype]}"
                            paths.append({"subsys": sub, "id": nsid,
                                          "path": f"/{r}/RawData/{nname}"})
                            types.setdefault(ftype, set()).add((sub, nsid))
                            subdets.setdefault(det, set()).add((sub, nsid))
                            if sub == 1:
                                if len(b) >= 72 + 7200:
                                    w = int.from_bytes(b[72:80], "little")
                                    gid = ((w >> 26 & 0xFF) << 48 | (w >> 22 & 0xF) << 32 |
                                           (w >> 12 & 0x3FF) << 16 | (w >> 6 & 0x3F))
                                    geo.setdefault(nsid, set()).add(gid)
                                else:  # no frame: the original map knows where it was from
                                    geo.setdefault(nsid, set()).update(old_geo.get(sid, []))
                        rg.create_dataset(nname, data=np.frombuffer(bytes(b), np.int8).reshape(-1, 1))
                        recorded += len(b)

                    def sids(s):
                        return [{"subsys": a, "id": i} for a, i in sorted(s)]
                    rgrp = g[r]
                    put(rgrp, "record_header_source_id", json.dumps(hsid))
                    put(rgrp, "source_id_path_map", json.dumps({"map_entries": paths}))
                    put(rgrp, "fragment_type_source_id_map", json.dumps({"map_entries": [
                        {"fragment_type": t, "sourceids": sids(s)} for t, s in sorted(types.items())]}))
                    put(rgrp, "subdetector_source_id_map", json.dumps({"map_entries": [
                        {"subdetector": d, "sourceids": sids(s)} for d, s in sorted(subdets.items())]}))
                put(g, "source_id_geo_id_map", json.dumps({"map_entries": [
                    {"subsys": 1, "id": i, "geoids": sorted(v)} for i, v in sorted(geo.items())]}))
                put(g, "record_type", rtype)
                put(g, "operational_environment", "np04hd")
                put(g, "offline_data_stream", "cosmics")
                put(g, "run_was_for_test_purposes", "true")
                put(g, "recorded_size", np.uint64(recorded))
                put(g, "closing_timestamp", str(int(time.time() * 1000)))
        return out, ids
