"""int8 inference benchmark, onnxruntime's side (bench/bench_int8.sh):
times onnxruntime (PyPI) on the same QDQ file and input as czoo_bench_int8
and compares the outputs: the share of values within one output
quantization step of czoo's (STEP), printed, so both sides are known to
compute the same model. Session: intra_op_num_threads=THREADS,
inter_op_num_threads=1, sequential, ORT_ENABLE_ALL (onnxruntime then
fuses the Q/DQ pairs into its integer kernels), CPU provider.
Usage: bench_int8_ort.py QDQ.onnx BATCH THREADS RUNS WARMUP PREFIX STEP
Prints images_per_s (median of RUNS), median_ms, within_one_step."""
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    path, batch, threads, runs, warmup, prefix, step = sys.argv[1:8]
    batch, threads, runs, warmup, step = int(batch), int(threads), int(runs), int(warmup), float(step)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.fromfile(prefix + ".in", dtype=np.float32).reshape([batch] + list(inp.shape[1:]))
    ref = np.fromfile(prefix + ".out", dtype=np.float32).reshape(batch, -1)
    times = []
    y = None
    for s in range(warmup + runs):
        t0 = time.perf_counter()
        y = sess.run(None, {inp.name: x})[0]
        if s >= warmup:
            times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    within = float(np.mean(np.abs(y - ref) <= step * 1.001)) * 100
    print(f"images_per_s {batch / med:.1f}")
    print(f"median_ms {1e3 * med:.3f}")
    print(f"within_one_step {within:.2f}")
    print(f"onnxruntime {ort.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
