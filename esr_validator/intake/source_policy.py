"""What the static source check considers harmless or dangerous, as data.

Names are fully qualified (``os.system``, ``numpy.save``, ``builtins.eval``) after alias
resolution; the values are catalogue names (``esr_validator.codes``). A module listed in
``DANGEROUS_MODULES`` is dangerous as a whole, including everything under it; a name in
``DANGEROUS_NAMES`` (or under a prefix of ``DANGEROUS_PREFIXES``) is dangerous where a module
also offers harmless things (``os.path.join`` is fine, ``os.system`` is not).
"""

from __future__ import annotations

NETWORK = "source-network"
PROCESS = "source-subprocess"
WRITE = "source-file-write"
NATIVE = "source-ctypes"
DYNAMIC = "source-dynamic-code"
BUILTINS = "source-builtins"
PATCH_TORCH = "source-monkeypatch-torch"

#: What each dangerous rule means, for the finding's message.
PURPOSE: dict[str, str] = {
    NETWORK: "opens network connections",
    PROCESS: "starts processes",
    WRITE: "writes or deletes files",
    NATIVE: "loads native code",
    DYNAMIC: "runs or loads code dynamically",
    BUILTINS: "modifies builtins",
    PATCH_TORCH: "patches torch for every model the harness runs",
}

#: Standard-library modules that model code uses and that cannot do harm on their own
#: (their few dangerous members, such as ``os.system``, are listed by name below).
HARMLESS_STDLIB = frozenset(
    {
        "__future__", "abc", "argparse", "array", "bisect", "cmath", "collections",
        "contextlib", "copy", "dataclasses", "datetime", "decimal", "enum", "fractions",
        "functools", "gc", "glob", "hashlib", "heapq", "inspect", "io", "itertools", "json",
        "logging", "math", "numbers", "operator", "os", "pathlib", "pickle", "platform",
        "pprint", "queue", "random", "re", "statistics", "string", "struct", "sys",
        "textwrap", "threading", "time", "timeit", "traceback", "types", "typing", "uuid",
        "warnings", "weakref",
    }
)  # fmt: skip

DANGEROUS_MODULES: dict[str, str] = {
    **dict.fromkeys(
        (
            "socket", "socketserver", "ssl", "urllib.request", "urllib.robotparser",
            "http.client", "http.server", "http.cookiejar", "ftplib", "smtplib", "poplib",
            "imaplib", "nntplib", "telnetlib", "xmlrpc", "webbrowser", "requests", "httpx",
            "urllib3", "aiohttp", "websocket", "websockets", "paramiko", "pycurl", "wget",
            "torch.hub", "torch.utils.model_zoo",
        ),
        NETWORK,
    ),
    **dict.fromkeys(
        (
            "subprocess", "multiprocessing", "pty", "pexpect", "sh", "plumbum",
            "concurrent.futures.process", "torch.multiprocessing",
        ),
        PROCESS,
    ),
    **dict.fromkeys(("shutil", "tempfile"), WRITE),
    **dict.fromkeys(("ctypes", "_ctypes", "cffi", "torch.utils.cpp_extension"), NATIVE),
    **dict.fromkeys(
        (
            "importlib.util", "importlib.machinery", "runpy", "marshal", "code", "codeop",
            "pkgutil", "zipimport", "shelve", "dill", "cloudpickle", "_pickle",
        ),
        DYNAMIC,
    ),
}  # fmt: skip

#: Importing these is touching builtins. Not in ``DANGEROUS_MODULES``: every bare builtin name
#: (``len``, ``print``) resolves to ``builtins.<name>`` and must not match as a module.
BUILTIN_MODULES = frozenset({"builtins", "__builtin__"})

DANGEROUS_NAMES: dict[str, str] = {
    **dict.fromkeys(
        ("builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__",
         "pickle.load", "pickle.loads", "pickle.Unpickler", "importlib.import_module",
         "importlib.__import__", "importlib.reload", "imp.load_source", "imp.load_module",
         "imp.load_dynamic", "imp.load_compiled", "imp.load_package", "imp.reload",
         "imp.find_module", "imp.new_module"),
        DYNAMIC,
    ),
    # huggingface_hub itself is in the organizers' environment (PyTorchModelHubMixin is a
    # base class); these are the calls that go to the network.
    **dict.fromkeys(
        ("huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download",
         "huggingface_hub.HfApi", "huggingface_hub.upload_file", "huggingface_hub.upload_folder",
         "huggingface_hub.login", "huggingface_hub.create_repo", "huggingface_hub.HfFileSystem"),
        NETWORK,
    ),
    **dict.fromkeys(
        ("os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg",
         "os.startfile", "concurrent.futures.ProcessPoolExecutor"),
        PROCESS,
    ),
    **dict.fromkeys(
        ("os.remove", "os.unlink", "os.rename", "os.renames", "os.replace", "os.makedirs",
         "os.mkdir", "os.rmdir", "os.removedirs", "os.truncate", "os.chmod", "os.chown",
         "os.link", "os.symlink", "os.mkfifo", "os.mknod", "os.write", "os.utime",
         "torch.save", "torch.jit.save", "torch.onnx.export", "torch.export.save",
         "numpy.ndarray.tofile", "cv2.imwrite", "cv2.VideoWriter", "matplotlib.pyplot.savefig",
         "torchvision.utils.save_image", "skimage.io.imsave", "scipy.io.savemat",
         "imageio.imwrite", "imageio.imsave"),
        WRITE,
    ),
    **dict.fromkeys(("torch.ops.load_library", "torch.classes.load_library"), NATIVE),
}  # fmt: skip

#: ``os.execv``, ``os.spawnlp``, ``numpy.savez_compressed``, ...
DANGEROUS_PREFIXES: tuple[tuple[str, str], ...] = (
    ("os.exec", PROCESS),
    ("os.spawn", PROCESS),
    ("os.posix_spawn", PROCESS),
    ("numpy.save", WRITE),
)

#: Packages the organizers' evaluation environments offered to entries (their challenge
#: repositories' requirements, narrowed to what entries import). Importing one that this
#: image lacks is a warning: the organizers accepted it; the run says whether it works here.
ORGANIZER_PACKAGES = frozenset(
    {"tqdm", "thop", "mmcv", "basicsr", "huggingface_hub", "timm", "einops", "torchvision",
     "matplotlib", "scipy", "skimage"}
)  # fmt: skip

#: Global torch backend flags an entry may set; they can change its timing, nothing else.
CUDNN_FLAGS = frozenset(
    {"torch.backends.cudnn.benchmark", "torch.backends.cudnn.deterministic",
     "torch.backends.cudnn.enabled", "torch.backends.cudnn.allow_tf32",
     "torch.backends.cuda.matmul.allow_tf32",
     "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
     "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction"}
)  # fmt: skip

#: Methods that, on whatever object, only make sense for writing files (``Path.touch``...).
WRITE_METHODS = frozenset(
    {"write_text", "write_bytes", "touch", "mkdir", "unlink", "rmdir", "symlink_to",
     "hardlink_to", "tofile", "savefig"}
)  # fmt: skip

#: Calls that open a file, and the positional index of their ``mode`` argument.
OPENERS: dict[str, int] = {"builtins.open": 1, "io.open": 1, "codecs.open": 1, "os.fdopen": 1}

#: Modules on which ``getattr(module, <computed name>)`` hides what is really called.
SENSITIVE_MODULES = frozenset(
    {"os", "sys", "builtins", "shutil", "subprocess", "importlib", "ctypes", "socket", "pty",
     "pickle", "marshal"}
)  # fmt: skip


#: Attributes that only sandbox escapes reach for (``().__class__.__base__.__subclasses__()``).
ESCAPE_ATTRIBUTES = frozenset(
    {"__subclasses__", "__globals__", "__code__", "__closure__", "f_globals", "f_locals",
     "f_builtins", "f_back", "gi_frame", "cr_frame", "tb_frame"}
)  # fmt: skip


def normalise(qualified: str) -> str:
    """Map the platform modules behind ``os`` to ``os`` (``posix.system`` is ``os.system``)."""
    head, _, rest = qualified.partition(".")
    if head in ("posix", "nt"):
        return f"os.{rest}" if rest else "os"
    return qualified


def classify(qualified: str) -> str | None:
    """The catalogue name of the danger behind a qualified name, or None when harmless."""
    qualified = normalise(qualified)
    if qualified in DANGEROUS_NAMES:
        return DANGEROUS_NAMES[qualified]
    for prefix, code in DANGEROUS_PREFIXES:
        if qualified.startswith(prefix):
            return code
    parts = qualified.split(".")
    for end in range(len(parts), 0, -1):
        if (module := ".".join(parts[:end])) in DANGEROUS_MODULES:
            return DANGEROUS_MODULES[module]
    return None
