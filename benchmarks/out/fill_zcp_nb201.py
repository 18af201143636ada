"""Background ZCP fill (issue 11): more NB201 architectures with all 9 proxies, in the same uniform random
order as prepare_caches.py (numpy default_rng(0) permutation), so the computed set stays a uniform sample."""
import os, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE"); os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np, torch
torch.set_num_threads(1)
from raynas.predictors import load_space_table
from raynas.predictors.zcp import ZCP_PROXIES, zcp_values
tab = load_space_table("nb201")
order = [tab.archs[i] for i in np.random.default_rng(0).permutation(len(tab.archs))]
t = time.time()
for a in range(1250, len(order), 50):
    zcp_values(tab.space, order[a:a + 50], ZCP_PROXIES, workers=1, progress=False)
    print(f"zcp nb201 [{a}:{a + 50}] 9 proxies: {time.time() - t:.0f}s", flush=True)
