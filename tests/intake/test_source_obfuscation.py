"""Obfuscated forms of banned calls, each written as an entry would hide it, and the honest
patterns the organizers accepted, which must not be errors.

Marks as in ``test_source``: ``# <- ESRnnn`` on every line that must be reported. The first
corpus is the attacks (23 forms, one family each); every one must give an error. The second
is honest code seen in accepted entries, written anew here; none of it may give an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esr_validator.schemas.findings import Severity
from tests.intake.test_source import HEAD, found, marked, run
from tests.scripts import load_script

OBFUSCATED = {
    # dynamic namespace access (ESR413)
    "sys-modules-subscript": "import sys\nsys.modules['os'].system('id')  # <- ESR413\n",
    "sys-modules-get": "import sys\nm = sys.modules.get('subprocess')  # <- ESR413\n",
    "sys-modules-alias": "import sys as s\nmods = s.modules  # <- ESR413\n"
    "mods['os'].system('id')  # <- ESR413\n",
    "vars-module": "import os\nvars(os)['system']('id')  # <- ESR413\n",
    "module-dict": "import os\nos.__dict__['system']('id')  # <- ESR413\n",
    "getattr-computed-any-module": "import numpy as np\nname = 'sa' + 've'\n"
    "f = getattr(np, name)  # <- ESR413\n",
    "builtins-via-globals": "g = globals()['__builtins__']  # <- ESR413\n",
    "getattribute-on-module": "import os\n"
    "f = object.__getattribute__(os, 'sys' + 'tem')  # <- ESR413\n",
    "attrgetter-on-module": "import os, operator\n"
    "f = operator.attrgetter('sys' + 'tem')(os)  # <- ESR413\n",
    "dunder-builtins-name": "b = __builtins__  # <- ESR411\n",
    # reflective formatter access (ESR414)
    "formatter-get-field": "import os, string\n"
    "f = string.Formatter().get_field('0.system', [os], {})[0]  # <- ESR414\n",
    "formatter-from-import": "from string import Formatter\n"
    "f = Formatter().get_field('0.x', [1], {})  # <- ESR414\n",
    # private pickle entry points (ESR415)
    "pickle-private-loads": "import pickle\nobj = pickle._loads(b'')  # <- ESR415\n",
    "pickle-private-unpickler": "import pickle as p\nu = p._Unpickler  # <- ESR415\n",
    # low-level file APIs (ESR416)
    "fileio-write": "import io\nf = io.FileIO('x', 'w')  # <- ESR416\n",
    "fileio-computed-mode": "import io\nm = 'w'\nf = io.FileIO('x', mode=m)  # <- ESR416\n",
    "os-open-numeric": "import os\nfd = os.open('x', 577)  # <- ESR416\n",
    "os-open-computed": "import os\nflags = 1 | 64\nfd = os.open('x', flags)  # <- ESR416\n",
    # code built from strings (ESR410)
    "rot13-exec": "import codecs  # <- ESR404\n"
    "src = codecs.decode('vzcbeg bf', 'rot13')  # <- ESR410\n"
    "exec(src)  # <- ESR410\n",
    "code-type": "import types\nc = types.FunctionType  # <- ESR410\n",
    "compile-join": "c = compile(''.join(['1']), 'f', 'eval')  # <- ESR410\n",
    # metaclass default-argument trick: the default runs at class creation
    "metaclass-default": "import sys\n"
    "def meta(name, bases, ns, run=sys.modules['os'].system):  # <- ESR413\n"
    "    return type(name, bases, ns)\n"
    "class Hidden(metaclass=meta):\n    pass\n",
    "metaclass-default-open": "class Meta(type):\n"
    "    def __call__(cls, *a, w=open):  # <- ESR413\n"
    "        w('x.pth', 'w').write('')\n"
    "        return super().__call__(*a)\n",
    # writes to attributes of imported modules (ESR417)
    "patch-numpy": "import numpy as np\nnp.load = print  # <- ESR417\n",
    "patch-os-path": "import os\nos.path.exists = lambda p: True  # <- ESR417\n",
    "setattr-module": "import math\nsetattr(math, 'sqrt', abs)  # <- ESR417\n",
    "patch-sys": "import sys\nsys.stdout = None  # <- ESR417\n",
}


@pytest.mark.parametrize("snippet", list(OBFUSCATED.values()), ids=list(OBFUSCATED))
def test_obfuscated_form_is_an_error_on_its_line(snippet: str) -> None:
    text = HEAD + snippet
    findings = run(text)
    assert found(findings) == marked(text)
    assert all(f.severity is Severity.ERROR for f in findings if f.code != "ESR404")


HONEST = {
    "save-in-unused-helper": "def export(model, path):\n"
    "    torch.save(model.state_dict(), path)  # <- ESR408\n",
    "save-in-unused-method": "class Net2(nn.Module):\n    def forward(self, x):\n        return x\n"
    "    def save(self, path):\n        torch.save(self.state_dict(), path)  # <- ESR408\n",
    "main-block": "if __name__ == '__main__':\n    from thop import profile  # <- ESR404\n"
    "    from utils.model_summary import get_model_flops  # <- ESR403\n"
    "    torch.save(Net().state_dict(), 'x.pth')  # <- ESR408\n"
    "    open('log.txt', 'w')  # <- ESR408\n",
    "import-importlib": "import importlib  # <- ESR404\n",
    "import-imp": "import imp  # <- ESR404\n",
    "organizer-packages": "from tqdm import tqdm  # <- ESR404\nimport thop  # <- ESR404\n"
    "from mmcv.cnn import ConvModule  # <- ESR404\n"
    "from basicsr.archs.arch_util import trunc_normal_  # <- ESR404\n",
    "huggingface-mixin": "from huggingface_hub import PyTorchModelHubMixin  # <- ESR404\n"
    "class Hub(nn.Module, PyTorchModelHubMixin):\n    pass\n",
    "cudnn-flags": "torch.backends.cudnn.benchmark = True  # <- ESR418\n"
    "torch.backends.cudnn.deterministic = False  # <- ESR418\n",
    "import-on-a-branch": "class Net3(nn.Module):\n    def forward(self, x):\n"
    "        if self.fast:\n            import span_kernels  # <- ESR403\n"
    "            return span_kernels.run(x)\n        return x\n",
}


@pytest.mark.parametrize("snippet", list(HONEST.values()), ids=list(HONEST))
def test_honest_pattern_is_a_warning_not_an_error(snippet: str) -> None:
    text = HEAD + snippet
    findings = run(text)
    assert found(findings) == marked(text)
    assert all(f.severity is Severity.WARNING for f in findings), [f.message for f in findings]


def test_cudnn_warning_says_timing_can_change() -> None:
    (f,) = run(HEAD + "torch.backends.cudnn.benchmark = True\n")
    assert "timing" in f.message


def test_save_reached_from_forward_stays_an_error() -> None:
    text = HEAD + (
        "def dump(x):\n    torch.save(x, 'leak.pth')  # <- ESR408\n"
        "class Net4(nn.Module):\n    def forward(self, x):\n        dump(x)\n        return x\n"
    )
    findings = run(text)
    assert found(findings) == marked(text)
    assert findings[0].severity is Severity.ERROR


def test_default_argument_of_an_unused_function_still_runs_at_import() -> None:
    text = HEAD + "def never(p, w=open('x', 'w')):  # <- ESR408\n    pass\n"
    findings = run(text)
    assert found(findings) == marked(text)
    assert findings[0].severity is Severity.ERROR


def test_unreached_process_start_stays_an_error() -> None:
    text = HEAD + "import os\ndef never():\n    os.system('id')  # <- ESR407\n"
    assert [f.severity for f in run(text)] == [Severity.ERROR]


def test_organizer_corpus_script_counts_errors_and_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "team01_Honest.py").write_text(HEAD + HONEST["main-block"].replace("# <- ", "# "))
    (models / "team02_Hidden.py").write_text(HEAD + OBFUSCATED["vars-module"])
    (models / "helper.py").write_text("import socket\n")  # not a team file: not checked
    assert load_script("check_organizer_sources").main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "entries checked: 2; entries with an error: 1" in out
    assert "team02_Hidden.py:8 ESR413" in out and "team01" not in out.split("entries")[0]
    assert "warning  ESR408 2" in out
