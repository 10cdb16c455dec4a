"""An integrity fingerprint of the grading machinery inside a kernel.

``fingerprint()`` maps a few *keys* to short digests of object identities:

* one key per loaded ``eoslib`` module: ids of its functions (and their code objects,
  defaults and callable closure contents), of its classes and their methods, and of every
  registered question and its grading function (the registry's ``_REGISTRY``); module-valued
  attributes are skipped (importing a submodule binds it on its package);
* ``builtins``: ``print``, ``id``, ``exec``, ``compile``, ``isinstance`` ...;
* ``json``: ``json.dumps`` and the encoder;
* ``hooks``: ``sys.settrace``/``setprofile`` hooks and IPython event callbacks, input and AST
  transformers and the display publisher that do not come from IPython, ipykernel,
  matplotlib or eoslib itself.

Rebinding any of these (``eoslib.grading.registry.get = ...``, ``f.__code__ = ...``,
``builtins.print = ...``) changes a digest; reading, calling or mutating plain data does not.

This module must stay self-contained (standard library only, no relative imports): the
grader runs its *source text* inside the kernel under test, so replacing this module's
functions in the kernel does not blind the grader's own checks.
"""

import builtins
import hashlib
import json
import sys

_BUILTINS = (
    "print", "id", "exec", "eval", "compile", "isinstance", "getattr", "setattr", "hasattr",
    "sorted", "len", "repr", "str", "type", "vars", "__import__", "callable", "float",
)  # fmt: skip
_TRUSTED_HOOK_MODULES = (
    "IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm",
    "traitlets", "jupyter_client", "debugpy", "eoslib",
)  # fmt: skip


def _function_tokens(fn):
    """Identity tokens of a Python function (empty for other callables)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return [str(id(fn))]
    tokens = [
        str(id(fn)),
        str(id(code)),
        str(id(getattr(fn, "__defaults__", None))),
        str(id(getattr(fn, "__kwdefaults__", None))),
    ]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # empty cell
            continue
        if callable(content):
            tokens.append(str(id(content)))
            inner = getattr(content, "__code__", None)
            if inner is not None:
                tokens.append(str(id(inner)))
    return tokens


def _class_tokens(cls):
    tokens = [str(id(cls))]
    for name, value in sorted(vars(cls).items()):
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            for part in (value.fget, value.fset, value.fdel):
                if part is not None:
                    tokens += [name] + _function_tokens(part)
        elif callable(value):
            tokens += [name] + _function_tokens(value)
    return tokens


def _registry_tokens(registry):
    tokens = [str(id(registry))]
    for qid, question in sorted(registry.items()):
        grade = getattr(question, "grade", None)
        tokens += [qid, str(id(question))] + _function_tokens(grade)
    return tokens


def _module_tokens(module):
    tokens = []
    namespace = getattr(module, "__dict__", {})
    for name in sorted(k for k in list(namespace) if isinstance(k, str)):
        value = namespace[name]
        if name == "_REGISTRY" and isinstance(value, dict):
            tokens += [name] + _registry_tokens(value)
        elif isinstance(value, type):
            if str(getattr(value, "__module__", "")).startswith("eoslib"):
                tokens += [name] + _class_tokens(value)
            else:
                tokens += [name, str(id(value))]
        elif type(value).__name__ == "module":
            continue  # importing a submodule binds it on its package; modules have own keys
        elif callable(value):
            tokens += [name] + _function_tokens(value)
    return tokens


def _is_trusted_hook(hook):
    module = getattr(hook, "__module__", None) or getattr(
        getattr(hook, "func", None), "__module__", None
    )
    return isinstance(module, str) and module.split(".")[0] in _TRUSTED_HOOK_MODULES


def _hook_tokens():
    tokens = [str(id(sys.gettrace())), str(id(sys.getprofile()))]
    ipython_module = sys.modules.get("IPython")
    shell = None
    if ipython_module is not None:
        try:
            shell = ipython_module.get_ipython()
        except Exception:  # noqa: BLE001 - defensive: IPython half-imported
            shell = None
    if shell is None:
        return tokens
    groups = {"events." + k: v for k, v in getattr(shell.events, "callbacks", {}).items()}
    groups["input_transformers_post"] = getattr(shell, "input_transformers_post", [])
    groups["ast_transformers"] = getattr(shell, "ast_transformers", [])
    manager = getattr(shell, "input_transformer_manager", None)
    for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
        groups["itm." + attr] = getattr(manager, attr, [])
    for group, hooks in sorted(groups.items()):
        for hook in list(hooks):
            if not _is_trusted_hook(hook):
                tokens += [group, str(id(hook))]
    publisher = getattr(shell, "display_pub", None)
    tokens += [str(id(type(publisher))), str("publish" in getattr(publisher, "__dict__", {}))]
    publish = getattr(type(publisher), "publish", None)
    tokens += _function_tokens(publish) if publish is not None else ["-"]
    return tokens


def _digest(tokens):
    return hashlib.sha1(" ".join(tokens).encode()).hexdigest()[:16]


def fingerprint():
    """Digest per key (see the module docstring). Cheap: about a millisecond."""
    result = {}
    for name in sorted(n for n in list(sys.modules) if n == "eoslib" or n.startswith("eoslib.")):
        module = sys.modules.get(name)
        if module is not None:
            result[name] = _digest(_module_tokens(module))
    result["builtins"] = _digest([str(id(getattr(builtins, n, None))) for n in _BUILTINS])
    encoder = getattr(json, "JSONEncoder", None)
    result["json"] = _digest(
        _function_tokens(getattr(json, "dumps", None))
        + [str(id(encoder))]
        + _function_tokens(getattr(encoder, "encode", None))
    )
    result["hooks"] = _digest(_hook_tokens())
    result["channel"] = _digest(_channel_tokens())
    return result


def _channel_tokens():
    """What carries the grader's hidden output out of the kernel: IPython's display
    functions and publisher, ipykernel's publisher and jupyter_client's ``Session.send``."""
    tokens = []
    places = (("IPython.display", "publish_display_data"),
              ("IPython.core.display_functions", "publish_display_data"),
              ("IPython.core.displaypub", "DisplayPublisher"),
              ("ipykernel.zmqshell", "ZMQDisplayPublisher"),
              ("jupyter_client.session", "Session"))  # fmt: skip
    for module_name, name in places:
        value = getattr(sys.modules.get(module_name), name, None)
        if isinstance(value, type):
            tokens += [name] + _class_tokens(value)
        else:
            tokens += [name] + _function_tokens(value)
    return tokens


def changed_keys(reference, current):
    """Keys of ``reference`` whose digest differs in (or is missing from) ``current``.

    Keys only in ``current`` (modules first imported later) are ignored: the grader only
    relies on modules loaded before the submission ran.
    """
    if not isinstance(current, dict):
        return ["fingerprint"]
    return sorted(k for k, v in reference.items() if current.get(k) != v)
