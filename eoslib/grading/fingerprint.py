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


_FUNCTION = type(lambda: None)  # types.FunctionType (this module imports no more)
_ONE_CALL = (staticmethod, classmethod)


def _function_tokens(fn):
    """Identity tokens of a callable: its id; for a Python function also the ids of its
    code, defaults, keyword defaults and of the callables in its closure (and their code)."""
    if type(fn) is _FUNCTION:  # the common case, read directly (FunctionType is final)
        tokens = [id(fn), id(fn.__code__), id(fn.__defaults__), id(fn.__kwdefaults__)]
        closure = fn.__closure__
    else:
        code = getattr(fn, "__code__", None)
        if code is None:
            return [id(fn)]
        tokens = [id(fn), id(code), id(getattr(fn, "__defaults__", None)),
                  id(getattr(fn, "__kwdefaults__", None))]
        closure = getattr(fn, "__closure__", None)
    for cell in closure or ():
        try:
            content = cell.cell_contents
        except ValueError:  # empty cell
            continue
        if callable(content):
            tokens.append(id(content))
            inner = getattr(content, "__code__", None)
            if inner is not None:
                tokens.append(id(inner))
    return tokens


def _class_tokens(cls):
    tokens = [id(cls)]
    for name, value in sorted(vars(cls).items()):
        if type(value) is not _FUNCTION:
            if isinstance(value, _ONE_CALL):
                value = value.__func__
            if isinstance(value, property):
                for part in (value.fget, value.fset, value.fdel):
                    if part is not None:
                        tokens.append(name)
                        tokens += _function_tokens(part)
                continue
            if not callable(value):
                continue
        tokens.append(name)
        tokens += _function_tokens(value)
    return tokens


def _registry_tokens(registry):
    tokens = [id(registry)]
    for qid, question in sorted(registry.items()):
        tokens += [qid, id(question)] + _function_tokens(getattr(question, "grade", None))
    return tokens


def _module_tokens(module, classes=None):
    """Tokens of a module's callables and classes; ``classes`` keeps each eoslib class's
    tokens for the rest of one :func:`fingerprint` (a class imported by many modules is
    read once; its tokens still count in every module that holds it)."""
    classes = {} if classes is None else classes
    tokens = []
    namespace = getattr(module, "__dict__", {})
    for name in sorted(k for k in list(namespace) if isinstance(k, str)):
        value = namespace[name]
        if type(value) is _FUNCTION:
            tokens.append(name)
            tokens += _function_tokens(value)
        elif name == "_REGISTRY" and isinstance(value, dict):
            tokens.append(name)
            tokens += _registry_tokens(value)
        elif isinstance(value, type):
            tokens.append(name)
            if str(getattr(value, "__module__", "")).startswith("eoslib"):
                known = classes.get(id(value))
                if known is None or known[0] is not value:
                    known = classes[id(value)] = (value, _class_tokens(value))
                tokens += known[1]
            else:
                tokens.append(id(value))
        elif type(value).__name__ == "module":
            continue  # importing a submodule binds it on its package; modules have own keys
        elif callable(value):
            tokens.append(name)
            tokens += _function_tokens(value)
    return tokens


def _is_trusted_hook(hook):
    module = getattr(hook, "__module__", None) or getattr(
        getattr(hook, "func", None), "__module__", None
    )
    return isinstance(module, str) and module.split(".")[0] in _TRUSTED_HOOK_MODULES


def _hook_tokens():
    tokens = [id(sys.gettrace()), id(sys.getprofile())]
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
                tokens += [group, id(hook)]
    publisher = getattr(shell, "display_pub", None)
    tokens += [id(type(publisher)), "publish" in getattr(publisher, "__dict__", {})]
    publish = getattr(type(publisher), "publish", None)
    tokens += _function_tokens(publish) if publish is not None else ["-"]
    return tokens


def _digest(tokens):
    """A short digest of a list of names, ids and flags (``repr`` keeps them apart)."""
    return hashlib.sha1(repr(tokens).encode()).hexdigest()[:16]


def fingerprint():
    """Digest per key (see the module docstring). A few milliseconds."""
    result = {}
    classes = {}
    for name in sorted(n for n in list(sys.modules) if n == "eoslib" or n.startswith("eoslib.")):
        module = sys.modules.get(name)
        if module is not None:
            result[name] = _digest(_module_tokens(module, classes))
    result["builtins"] = _digest([id(getattr(builtins, n, None)) for n in _BUILTINS])
    encoder = getattr(json, "JSONEncoder", None)
    result["json"] = _digest(
        _function_tokens(getattr(json, "dumps", None))
        + [id(encoder)]
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
