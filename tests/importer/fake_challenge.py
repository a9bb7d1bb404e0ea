"""A fake challenge repository whose ``test_demo.py`` reproduces every pattern of the real
``select_model()`` branches, written here (no organizer code). Each team's expected
manifest sits next to its branch, so tests can compare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tests.subs import PACKAGE_FILES, TINY_MODEL

MODELS = (
    TINY_MODEL
    + """

class Opt(TinySR):
    def __init__(self, num_feat=8, norm=None):
        super().__init__(num_feat=num_feat)


class WithRepa(TinySR):
    def repa(self):
        with torch.no_grad():
            self.tail.bias.add_(0.25)


class Deploy(nn.Module):
    def __init__(self):
        super().__init__()
        self.deployed = False

    def switch_deploy(self):
        self.deployed = True


class WithSubDeploy(TinySR):
    def __init__(self, num_feat=8):
        super().__init__(num_feat=num_feat)
        self.a, self.b = Deploy(), Deploy()

    def forward(self, x):
        return super().forward(x) + float(self.a.deployed) + float(self.b.deployed)


class OwnLoader(TinySR):
    def load_weights(self, path):
        self.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["params"])


class Warm(TinySR):
    def __init__(self, num_feat=8):
        super().__init__(num_feat=num_feat)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return super().forward(x) + self.calls * 0.01


class Windowed(TinySR):
    def forward(self, x):
        assert x.shape[-1] % 8 == 0 and x.shape[-2] % 8 == 0
        return super().forward(x)
"""
)

DEMO = """\
import os.path
import torch
from torch.nn import functional as F
from models.team09_Tiled import TinySR as TiledSR


def select_model(args, device):
    model_id = args.model_id
    if model_id == 0:
        from models.team00_Plain import TinySR
        name, data_range = f"{model_id:02}_Plain", 1.0
        model_path = os.path.join('model_zoo', 'team00_Plain.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 1:
        pass
    elif model_id == 2:
        import importlib
        model_module = importlib.import_module(f'models.team{model_id:02}_Dyn')
        name, data_range = f"{model_id:02}_Dyn", 255.0
        model = getattr(model_module, f'TinySR')(6).eval().to(device)
        model_path = os.path.join('model_zoo', f'weights_v2.pth')
        stat_dict = torch.load(model_path)['params_ema']
        model.load_state_dict(stat_dict, strict=False)
    elif model_id == 3:
        from models.team03_Win import Windowed
        name, data_range = f"{model_id:02}_Win", 1.0
        model_path = os.path.join('model_zoo', 'team03_Win.pth')
        model = Windowed(num_feat=8)
        loadnet = torch.load(model_path)
        if 'params_ema' in loadnet:
            keyname = 'params_ema'
        else:
            keyname = 'params'
        model.load_state_dict(loadnet[keyname], strict=True)
    elif model_id == 4:
        from models.team04_Chain import TinySR
        name, data_range = f"{model_id:02}_Chain", 1.0
        model_path = "./model_zoo/team04_Chain.pth"
        model = TinySR()
        ckpt = torch.load(model_path, map_location=device)
        if isinstance(ckpt, dict) and ('params_ema' in ckpt or 'params' in ckpt):
            state = ckpt.get('params_ema', ckpt.get('params'))
        else:
            state = ckpt
        if isinstance(state, dict) and any(k.startswith('module.') for k in state.keys()):
            state = {k.replace('module.', '', 1): v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
    elif model_id == 5:
        from models.team05_Sub import WithSubDeploy
        name, data_range = f"{model_id:02}_Sub", 1.0
        model_path = os.path.join('model_zoo', 'team05_Sub.pth')
        model = WithSubDeploy()
        model.load_state_dict(torch.load(model_path)["params"], strict=True)
        for module in model.modules():
            if hasattr(module, 'switch_deploy'):
                module.switch_deploy()
    elif model_id == 6:
        from models.team06_Repa import WithRepa
        name, data_range = f"{model_id:02}_Repa", 1.0
        model_path = os.path.join('model_zoo', 'team06_Repa.pth')
        model = WithRepa(num_feat=8)
        state_dict = torch.load(model_path)
        model.load_state_dict(state_dict['params'])
        model.repa()
    elif model_id == 7:
        from models.team07_Own import OwnLoader
        name, data_range = f"{model_id:02}_Own", 1.0
        model_path = os.path.join('model_zoo', 'team07_Own.pth')
        model = OwnLoader()
        model.load_weights(model_path)
    elif model_id == 8:
        from models.team08_Warm import Warm
        name, data_range = f"{model_id:02}_Warm", 1.0
        model_path = os.path.join('model_zoo', 'team08_Warm.pth')
        model = Warm()
        model.load_state_dict(torch.load(model_path), strict=True)
        model.eval()
        model = model.to(device)
        inp = torch.randn(1, 3, 16, 16).to(device)
        for i in range(3):
            out = model(inp)
    elif model_id == 9:
        name, data_range = f"{model_id:02}_Tiled", 1.0
        model_path = os.path.join('model_zoo', 'team09_Tiled.pth')
        model = TiledSR(8, 4)
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 10:
        import subprocess
        from models.team10_Proc import TinySR
        name, data_range = f"{model_id:02}_Proc", 1.0
        model = TinySR()
    elif model_id == 12:
        from models.team12_Gone import TinySR
        name, data_range = f"{model_id:02}_Gone", 1.0
        model_path = os.path.join('model_zoo', 'team12_Gone.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 13:
        from models.team13_Lfs import TinySR
        name, data_range = f"{model_id:02}_Lfs", 1.0
        model_path = os.path.join('model_zoo', 'team13_Lfs.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 14:
        from models.team14_Opt import Opt
        name, data_range = f"{model_id:02}_Opt", 1.0
        model_path = os.path.join('model_zoo', 'team14_Opt.pth')
        model = Opt(8, norm=None)
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 15:
        from models.team15_Cond import TinySR
        name, data_range = f"{model_id:02}_Cond", 1.0
        model_path = os.path.join('model_zoo', 'team15_Cond.pth')
        model = TinySR()
        if torch.cuda.is_available():
            model = model.half()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 16:
        from models.team16_Pkl import TinySR
        name, data_range = f"{model_id:02}_Pkl", 1.0
        model_path = os.path.join('model_zoo', 'team16_pkl_weights.pkl')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 17:
        from models.team17_Loop import TinySR
        name, data_range = f"{model_id:02}_Loop", 1.0
        model_path = os.path.join('model_zoo', 'team17_Loop.pth')
        model = TinySR()
        state_dict = torch.load(model_path)
        new_state_dict = dict()
        for k, v in state_dict.items():
            new_state_dict[k.replace("module.", "")] = v
        model.load_state_dict(new_state_dict, strict=True)
    elif model_id == 18:
        from models.team18_Slice import TinySR
        name, data_range = f"{model_id:02}_Slice", 1.0
        model_path = os.path.join('model_zoo', 'team18_Slice.pth')
        model = TinySR()
        state_dict = torch.load(model_path)
        new_state_dict = {}
        for k, v in state_dict.items():
            new_state_dict[k[7:]] = v
        model.load_state_dict(new_state_dict, strict=True)
    elif model_id == 19:
        from models.team19_Pkg.net import TinySR
        name, data_range = f"{model_id:02}_Pkg", 1.0
        model_path = os.path.join('model_zoo', 'team19_Pkg.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 20:
        from models.rfdn_like.net import TinySR
        name, data_range = f"{model_id:02}_Abs", 1.0
        model_path = os.path.join('model_zoo', 'rfdn_like.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 21:
        from models.rel_only.ops.model import TinySR
        name, data_range = f"{model_id:02}_Rel", 1.0
        model_path = os.path.join('model_zoo', 'rel_only.pth')
        model = TinySR()
        model.load_state_dict(torch.load(model_path), strict=True)
    elif model_id == 22:
        import sys, subprocess
        op_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fused_op')
        try:
            import fused_op
        except ImportError:
            done = subprocess.run(
                [sys.executable, 'setup.py', 'build_ext', '--inplace'], cwd=op_dir
            )
        from models.team22_Ext import TinySR
        name, data_range = f"{model_id:02}_Ext", 1.0
        model = TinySR()
    else:
        raise NotImplementedError(f"Model {model_id} is not implemented.")

    model.eval()
    tile = 16 if model_id == 9 else None
    for k, v in model.named_parameters():
        v.requires_grad = False
    model = model.to(device)
    return model, name, data_range, tile


def forward(img_lq, model, tile=None, tile_overlap=4, scale=4):
    if tile is None:
        return model(img_lq)
    _, C, h, w = img_lq.size()
    tile = min(tile, h, w)
    sf = scale
    stride = tile - tile_overlap
    h_idx_list = list(range(0, h - tile, stride)) + [h - tile]
    w_idx_list = list(range(0, w - tile, stride)) + [w - tile]
    E = torch.zeros(1, C, h * sf, w * sf).type_as(img_lq)
    W = torch.zeros_like(E)
    for h_idx in h_idx_list:
        for w_idx in w_idx_list:
            out_patch = model(img_lq[..., h_idx:h_idx + tile, w_idx:w_idx + tile])
            E[..., h_idx * sf:(h_idx + tile) * sf, w_idx * sf:(w_idx + tile) * sf].add_(out_patch)
            mask = torch.ones_like(out_patch)
            W[..., h_idx * sf:(h_idx + tile) * sf, w_idx * sf:(w_idx + tile) * sf].add_(mask)
    return E.div_(W)


def forward_team03(img_lq, model, tile=None, tile_overlap=4, scale=4):
    window_size = 8
    mod_pad_h, mod_pad_w = 0, 0
    _, _, h, w = img_lq.size()
    if h % window_size != 0:
        mod_pad_h = window_size - h % window_size
    if w % window_size != 0:
        mod_pad_w = window_size - w % window_size
    img = F.pad(img_lq, (0, mod_pad_w, 0, mod_pad_h), 'reflect')
    output = model(img)
    _, _, h, w = output.size()
    return output[:, :, 0:h - mod_pad_h * scale, 0:w - mod_pad_w * scale]


def run(model, args, img_lr, tile):
    if args.model_id == 3:
        return forward_team03(img_lr, model, tile)
    return forward(img_lr, model, tile)
"""

# What the importer must write for each team (defaults left out, as the zip's manifest).
EXPECTED: dict[int, dict[str, Any]] = {
    0: {"class_name": "TinySR", "model_name": "Plain"},
    2: {
        "class_name": "TinySR",
        "model_name": "Dyn",
        "kwargs": {"num_feat": 6},
        "data_range": 255.0,
        "checkpoint": {"key": "params_ema", "strict": False},
    },
    3: {
        "class_name": "Windowed",
        "model_name": "Win",
        "kwargs": {"num_feat": 8},
        "checkpoint": {"keys": ["params_ema", "params"]},
        "inference": {"pad_multiple": 8},
    },
    4: {
        "class_name": "TinySR",
        "model_name": "Chain",
        "checkpoint": {
            "keys": ["params_ema", "params"],
            "file_if_no_key": True,
            "strip_prefix": "module.",
        },
    },
    5: {
        "class_name": "WithSubDeploy",
        "model_name": "Sub",
        "checkpoint": {
            "key": "params",
            "post_load": "switch_deploy",
            "post_load_scope": "submodules",
        },
    },
    6: {
        "class_name": "WithRepa",
        "model_name": "Repa",
        "kwargs": {"num_feat": 8},
        "checkpoint": {"key": "params", "post_load": "repa"},
    },
    7: {
        "class_name": "OwnLoader",
        "model_name": "Own",
        "checkpoint": {"loader_method": "load_weights"},
    },
    8: {
        "class_name": "Warm",
        "model_name": "Warm",
        "checkpoint": {"warmup_forwards": 3, "warmup_size": 16},
    },
    9: {
        "class_name": "TinySR",
        "model_name": "Tiled",
        "kwargs": {"num_feat": 8, "scale": 4},
        "inference": {"tile": 16, "tile_overlap": 4},
    },
    14: {"class_name": "Opt", "model_name": "Opt", "kwargs": {"num_feat": 8}},
    16: {"class_name": "TinySR", "model_name": "Pkl"},
    17: {"class_name": "TinySR", "model_name": "Loop", "checkpoint": {"strip_prefix": "module."}},
    # packages: imported by their own name, renamed when they reach themselves relatively
    19: {"class_name": "TinySR", "model_name": "Pkg", "module": "net"},
    21: {"class_name": "TinySR", "model_name": "rel_only", "module": "ops.model"},
}
# team -> (package folder, the files the zip must carry, relative to it)
PACKAGES: dict[int, tuple[str, list[str]]] = {
    19: ("team19_Pkg", sorted(PACKAGE_FILES)),
    20: ("rfdn_like", []),
    21: ("rel_only", ["__init__.py", "blocks.py", "ops/__init__.py", "ops/act.py", "ops/model.py"]),
}
# team -> (finding code, line of test_demo.py it must name, or None)
FAILING: dict[int, tuple[str, int | None]] = {
    1: ("ESR904", None),
    10: ("ESR901", DEMO.splitlines().index("        import subprocess") + 1),
    12: ("ESR902", None),
    13: ("ESR902", None),
    15: ("ESR901", DEMO.splitlines().index("        if torch.cuda.is_available():") + 1),
    20: ("ESR903", None),  # imports itself as models.rfdn_like, which a renamed zip lacks
    # builds a CUDA extension: the finding says so, at the line that builds it
    22: ("ESR901", DEMO.splitlines().index("            done = subprocess.run(") + 1),
    18: (
        "ESR901",
        DEMO.splitlines().index(
            "        for k, v in state_dict.items():",
            DEMO.splitlines().index("    elif model_id == 18:"),
        )
        + 1,
    ),
}
# team -> (model file stem, checkpoint file, what the file stores)
FILES: dict[int, tuple[str, str, str]] = {
    0: ("team00_Plain", "team00_Plain.pth", "plain"),
    2: ("team02_Dyn", "weights_v2.pth", "params_ema"),
    3: ("team03_Win", "team03_Win.pth", "params"),
    4: ("team04_Chain", "team04_Chain.pth", "module"),
    5: ("team05_Sub", "team05_Sub.pth", "params"),
    6: ("team06_Repa", "team06_Repa.pth", "params"),
    7: ("team07_Own", "team07_Own.pth", "params"),
    8: ("team08_Warm", "team08_Warm.pth", "warm"),
    9: ("team09_Tiled", "team09_Tiled.pth", "plain"),
    10: ("team10_Proc", "team10_Proc.pth", "plain"),
    12: ("team12_Gone", "", "plain"),
    13: ("team13_Lfs", "team13_Lfs.pth", "lfs"),
    14: ("team14_Opt", "team14_Opt.pth", "plain"),
    15: ("team15_Cond", "team15_Cond.pth", "plain"),
    16: ("team16_Pkl", "team16_pkl_weights.pkl", "plain"),  # torch.save under .pkl
    17: ("team17_Loop", "team17_Loop.pth", "module"),
    18: ("team18_Slice", "team18_Slice.pth", "module"),
    19: ("", "team19_Pkg.pth", "plain"),
    20: ("", "rfdn_like.pth", "plain"),
    21: ("", "rel_only.pth", "plain"),
}


def _package_files(team: int) -> dict[str, str]:
    """The shared package fixture, under this team's folder; 19 adds a helper nothing
    imports (which reaches a file of the repository the zip must not need), 21 reaches
    itself only relatively, from a subpackage module."""
    folder = PACKAGES[team][0]
    files = {n: t.replace("team16_TinySR", folder) for n, t in PACKAGE_FILES.items()}
    if team == 19:
        files["unused.py"] = "import models.basicblock as B\n"
    if team == 21:
        net = files.pop("net.py")
        net = net.replace(f"import models.{folder}.blocks as B", "from .. import blocks as B")
        net = net.replace(f"from models.{folder} import blocks", "from .. import blocks")
        files["ops/model.py"] = net.replace("from .ops.act import relu", "from .act import relu")
    return files


def _state(kind: str, team: int) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(MODELS, "fixture", "exec"), ns)  # our own fixture code
    torch.manual_seed(team)
    feat = 6 if team == 2 else 8
    cls = {"warm": "Warm"}.get(kind, "TinySR")
    state = ns[cls](num_feat=feat).state_dict()
    if kind in ("params", "params_ema"):
        return {kind: state, "other": {"x": torch.zeros(1)}}
    if kind == "module":
        return {f"module.{k}": v for k, v in state.items()}
    return state


def build(root: Path) -> Path:
    """Write the fake repository under ``root`` and return it."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "model_zoo").mkdir(exist_ok=True)
    (root / "test_demo.py").write_text(DEMO)
    (root / "models" / "basicblock.py").write_text("X = 1\n")  # the repository's own helper
    for team, (stem, ckpt, kind) in FILES.items():
        if team in PACKAGES:
            for name, text in _package_files(team).items():
                path = root / "models" / PACKAGES[team][0] / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        else:
            (root / "models" / f"{stem}.py").write_text(MODELS)
        if not ckpt:
            continue
        if kind == "lfs":
            pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n"
            (root / "model_zoo" / ckpt).write_text(pointer)
        else:
            torch.save(_state(kind, team), root / "model_zoo" / ckpt)
    return root
