import glob, hashlib, sys, h5py
def digest(d):
    h = hashlib.sha256()
    for path in sorted(glob.glob(d + "/*.hdf5")):
        with h5py.File(path, "r") as f:
            for rname in sorted(f):
                rec = f[rname]
                if not isinstance(rec, h5py.Group) or "RawData" not in rec: continue
                for dname in sorted(rec["RawData"]):
                    h.update(rname.encode() + b"/" + dname.encode())
                    h.update(rec["RawData"][dname][()].tobytes())
    return h.hexdigest()
for d in sys.argv[1:]: print(d, digest(d))
