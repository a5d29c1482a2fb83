"""Check a run's documents against the files they point at, as a reader of
the run would: every document validates against event-model's schemas, and
every stream_datum's index range exists in its resource's HDF5 dataset with
the shape and numpy dtype its descriptor describes.

Usage: python check_stream_documents.py DOCUMENTS.jsonl

DOCUMENTS.jsonl holds one `[name, document]` JSON array per line. Prints one
JSON object: the number of documents of each name, the frames each
resource's dataset holds, and the indices the stream_datums cover.
"""
import json
import sys
from urllib.parse import urlparse

import event_model
import h5py
import numpy as np


def main(path):
    docs = [json.loads(line) for line in open(path)]
    counts = {}
    for name, doc in docs:
        event_model.schema_validators[event_model.DocumentNames[name]].validate(doc)
        counts[name] = counts.get(name, 0) + 1

    data_keys = {}
    for name, doc in docs:
        if name == "descriptor":
            data_keys.update(doc["data_keys"])
    resources = {doc["uid"]: doc for name, doc in docs if name == "stream_resource"}
    frames, covered = {}, {}
    for name, doc in docs:
        if name != "stream_datum":
            continue
        resource = resources[doc["stream_resource"]]
        key = data_keys[resource["data_key"]]
        assert key.get("external") == "STREAM:", f"{resource['data_key']} is not external: {key}"
        file_path = urlparse(resource["uri"]).path
        with h5py.File(file_path, "r", swmr=True) as f:
            dataset = f[resource["parameters"]["dataset"]]
            start, stop = doc["indices"]["start"], doc["indices"]["stop"]
            assert 0 <= start < stop <= dataset.shape[0], (
                f"stream_datum {doc['uid']} covers {start}..{stop}, "
                f"but {file_path}:{dataset.name} holds {dataset.shape[0]} frames"
            )
            assert list(dataset.shape[1:]) == key["shape"][1:], (
                f"{file_path}:{dataset.name} holds frames of shape {dataset.shape[1:]}, "
                f"the descriptor says {key['shape'][1:]}"
            )
            assert dataset.dtype == np.dtype(key["dtype_numpy"]), (
                f"{file_path}:{dataset.name} holds {dataset.dtype.str}, the descriptor says {key['dtype_numpy']}"
            )
            frames[resource["uid"]] = dataset.shape[0]
        covered.setdefault(resource["uid"], []).append([start, stop])
    print(json.dumps({"counts": counts, "frames": frames, "covered": covered}))


if __name__ == "__main__":
    main(sys.argv[1])
