"""What h5py reads of an HDF5 file ophyd-rs' simulated areaDetector wrote.
Prints one JSON object: the shape, numpy dtype, chunks and maximum shape of
/entry/data/data, the sum of each frame, the first frame, and the NX_class of
/entry and /entry/data.

Usage: python hdf5_frames.py FILE [--swmr]
  --swmr: open it as a reader of a file still being written (SWMR).
"""
import json
import sys

import h5py


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def main(path, swmr):
    with h5py.File(path, "r", swmr=swmr, locking=False) as f:
        data = f["/entry/data/data"]
        if swmr:
            data.refresh()
        frames = data[()]
        result = {
            "shape": list(data.shape),
            "dtype": data.dtype.str,
            "chunks": list(data.chunks) if data.chunks else None,
            "maxshape": list(data.maxshape),
            "sums": [float(frame.sum()) for frame in frames],
            "first": frames[0].tolist() if len(frames) else None,
            "nx_class": [text(f["/entry"].attrs.get("NX_class")), text(f["/entry/data"].attrs.get("NX_class"))],
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], "--swmr" in sys.argv[2:])
