"""stdout belongs to the program: the head model (anny, warp) never takes it over.

`headsculpt serve` prints its address on stdout while a lane thread loads the head
model, and `headsculpt generate` prints the files it wrote; a library that swaps
``sys.stdout`` (process-wide) while it works sends those lines elsewhere.
"""

import subprocess
import sys

CODE = """
import sys, threading
from headsculpt.prior.head_model import HeadModel, HeadParameters
done = threading.Event()
def load():
    model = HeadModel.from_anny()
    model(HeadParameters({}, {}))
    done.set()
threading.Thread(target=load).start()
count = 0
while not done.is_set():
    print("line", count, flush=True)
    count += 1
print("total", count, flush=True)
"""


def test_loading_the_head_model_in_a_thread_leaves_stdout_alone():
    completed = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    total = int(lines[-1].split()[1])
    assert total > 0 and len(lines) == total + 1  # every line the main thread printed
    assert "line" not in completed.stderr and "Warp" not in completed.stdout
