"""The facade documents itself: every public method of Archive has a return type that resolves (Shift-Tab in
Jupyter shows it), and to_json() means one thing everywhere: JSON text, the data being to_dict()/to_dicts()."""

import ast
import inspect
import json
import typing
from pathlib import Path

import indexer
from indexer import api
from indexer.api import Archive


def annotations_namespace() -> dict:
    """The module's names plus those it imports only under TYPE_CHECKING."""
    namespace = dict(vars(api))
    for node in ast.walk(ast.parse(inspect.getsource(api))):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            exec(compile(ast.Module(body=node.body, type_ignores=[]), api.__file__, "exec"), namespace)
    return namespace


def public_methods():
    for name, member in vars(Archive).items():
        if name.startswith("_"):
            continue
        function = member.fget if isinstance(member, property) else getattr(member, "func", member)
        if callable(function):
            yield name, function


def test_every_public_method_has_a_return_type():
    missing = [name for name, f in public_methods() if "return" not in f.__annotations__]
    assert missing == []
    namespace = annotations_namespace()
    for name, function in public_methods():
        typing.get_type_hints(function, globalns=namespace)   # each resolves to a real type


def test_to_json_is_text_in_every_class():
    """Every to_json() in the package is annotated -> str (a class that returned its data would fail here)."""
    found = {}
    for path in Path(indexer.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "to_json":
                        found[node.name] = ast.unparse(item.returns) if item.returns else None
    assert {"Hits", "Quote"} <= set(found) and set(found.values()) == {"str"}, found


def test_to_json_is_the_text_of_the_data(search_archive):
    hits = search_archive.search("réseaux")
    assert hits and isinstance(hits.to_json(), str) and json.loads(hits.to_json()) == hits.to_dicts()
    quote = search_archive.quote(hits[0])
    assert isinstance(quote.to_json(), str) and json.loads(quote.to_json()) == quote.to_dict()
