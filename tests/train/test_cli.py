"""``python -m bnnhw.train`` without PyTorch: one clear message, nothing written."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_torch_gives_one_clear_message(tmp_path):
    out = tmp_path / "model.npz"
    code = ("import sys\n"
            "class NoTorch:\n"  # an import hook that hides PyTorch
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(\"No module named 'torch'\")\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from bnnhw.train.__main__ import main\n"
            f"sys.exit(main(['boolnet', '--out', {str(out)!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 1
    assert "install the train extra: pip install -e '.[train]'" in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()
