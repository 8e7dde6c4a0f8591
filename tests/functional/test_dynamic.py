"""Python's dynamic corners: a real edit on a copy of ``fixtures/dynamic`` -> the exact selection.

Each expected list says what a careful reader of the change says it can affect, and
keeps whatever a symbol-level reading cannot rule out (impactsel works symbol by
symbol: it never evaluates a condition or runs code). Where impactsel misses a test
the change can affect, the test is kept as a strict xfail whose reason names the
cause: those are safety bugs. Where it selects more than that, the assertion follows
impactsel only when the README documents the approximation (the comment says which);
otherwise that is a strict xfail too.

The sample project ``fixtures/dynamic`` (package ``dyn``, tests in ``tests/``, pytest
configured in pyproject.toml) passes its own suite: see test_fixture_projects.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# -- node ids of fixtures/dynamic ------------------------------------------------------------

# tests/test_duck.py: calls through objects of unknown type
IMPL_PARAM = "tests/test_duck.py::test_impl_through_a_parameter"
OTHER_PARAM = "tests/test_duck.py::test_other_through_a_parameter"
DUCK_FAKE = "tests/test_duck.py::test_duck_typed_fake"
BOUND_CALLBACK = "tests/test_duck.py::test_bound_method_as_a_callback"
LAMBDA_CALLBACK = "tests/test_duck.py::test_lambda_callback_on_a_factory_result"
IMPL_NO_CALL = "tests/test_duck.py::test_impl_is_made_but_method_never_called"
COMPUTED_GETATTR = "tests/test_duck.py::test_class_chosen_by_a_computed_name"
# tests/test_registry.py
DISPATCH_GREET = "tests/test_registry.py::test_dispatch_greet"
DISPATCH_BYE = "tests/test_registry.py::test_dispatch_bye"
GREET_DIRECT = "tests/test_registry.py::test_greet_directly"
# tests/test_wrapping.py
DOUBLE = "tests/test_wrapping.py::test_double"
DOUBLE_NAME = "tests/test_wrapping.py::test_double_keeps_its_name"
TRIPLE = "tests/test_wrapping.py::test_triple"
TRIPLE_SUMMARY = "tests/test_wrapping.py::test_summary_of_triple"
METHOD_SUMMARY = "tests/test_wrapping.py::test_summary_of_a_method"
SUMMARY_BESIDE = "tests/test_wrapping.py::test_summary_beside_a_greeter"
GREET_ALL = "tests/test_wrapping.py::test_greet_all"
TRIPLE_NAME = "tests/test_wrapping.py::test_triple_name"
# tests/test_temps.py
FAHRENHEIT = "tests/test_temps.py::test_fahrenheit_property"
KELVIN = "tests/test_temps.py::test_kelvin_cached_property"
FROM_FAHRENHEIT = "tests/test_temps.py::test_from_fahrenheit_classmethod"
CLAMP = "tests/test_temps.py::test_clamp_staticmethod"
# tests/test_options.py
DEFAULT_RETRIES = "tests/test_options.py::test_default_retries"
DEFAULT_HOSTS = "tests/test_options.py::test_default_hosts"
DESCRIBE_EXPLICIT = "tests/test_options.py::test_describe_explicit_values"
# tests/test_classes.py
RED_WARM = "tests/test_classes.py::test_red_is_warm"
GREEN_VALUE = "tests/test_classes.py::test_green_value"
POINT_MANHATTAN = "tests/test_classes.py::test_point_manhattan"
POINT_NO_DICT = "tests/test_classes.py::test_point_has_no_dict"
META_TAGS = "tests/test_classes.py::test_metaclass_tags_classes"
META_FILES = "tests/test_classes.py::test_metaclass_files_classes_away"
COUNTER_BUMP = "tests/test_classes.py::test_counter_bump"
COUNTER_STEP = "tests/test_classes.py::test_counter_step_through_an_instance"
# tests/test_tasks.py
RUN_ECHO = "tests/test_tasks.py::test_run_echo_by_name"
COUNT_DIRECT = "tests/test_tasks.py::test_count_directly"
REGISTRY_NAMES = "tests/test_tasks.py::test_registry_names"
# tests/test_state.py
SET_MODE = "tests/test_state.py::test_set_mode"
DEFAULT_MODE = "tests/test_state.py::test_default_mode"
RECORD = "tests/test_state.py::test_record"
HISTORY_TUPLE = "tests/test_state.py::test_history_is_a_tuple"
# tests/test_modules.py
LAZY_ATTR = "tests/test_modules.py::test_lazy_attribute"
LAZY_FROM = "tests/test_modules.py::test_lazy_from_import"
JOINED = "tests/test_modules.py::test_joined"
DUMPS = "tests/test_modules.py::test_dumps"
MAJOR = "tests/test_modules.py::test_major"
# tests/test_imports.py
IMPORT_MODULE = "tests/test_imports.py::test_import_module_literal"
DUNDER_IMPORT = "tests/test_imports.py::test_dunder_import"
COMPUTED_IMPORT = "tests/test_imports.py::test_computed_import"
# tests/test_patching.py
PATCH_STRING = "tests/test_patching.py::test_mock_patch_by_string"
PATCH_OBJECT = "tests/test_patching.py::test_mock_patch_object"
MONKEYPATCH_STRING = "tests/test_patching.py::test_monkeypatch_setattr_by_string"
MONKEYPATCH_OBJECT = "tests/test_patching.py::test_monkeypatch_setattr_object"
# tests/test_fixtures.py
GREETING = "tests/test_fixtures.py::test_greeting"
USER = "tests/test_fixtures.py::test_user"
PLUGIN_FIXTURE = "tests/test_fixtures.py::test_plugin_fixture"
PLUGIN_MARKER = "tests/test_fixtures.py::test_plugin_marker"
GETFIXTUREVALUE = "tests/test_fixtures.py::test_getfixturevalue"
SIZE_POSITIVE = "tests/test_fixtures.py::test_size_is_positive"
MEDIUM_SIZE = "tests/test_fixtures.py::test_medium_size"
AREA_POSITIVE = "tests/test_fixtures.py::test_area_is_positive"
SQUARE_AREA = "tests/test_fixtures.py::test_square_area"
# tests/test_widgets.py, tests/test_assembly.py (imports a helper of test_widgets)
WIDGET_PARTS = "tests/test_widgets.py::test_widget_has_parts"
ASSEMBLY_WIDGETS = "tests/test_assembly.py::test_assembly_uses_widgets"
ASSEMBLY_NOTHING = "tests/test_assembly.py::test_assembly_of_nothing"
# tests/test_files.py
OPEN_LITERAL = "tests/test_files.py::test_open_literal_path"
PATH_FILE = "tests/test_files.py::test_path_next_to_the_module"
RESOURCES = "tests/test_files.py::test_importlib_resources"
GET_DATA = "tests/test_files.py::test_pkgutil_get_data"
# tests/test_typed.py
TITLE_DUCK = "tests/test_typed.py::test_title_of_a_duck"
RECORD_LABEL = "tests/test_typed.py::test_record_label"
# tests/test_labels.py
LABEL_TEXT = "tests/test_labels.py::test_label_text"
BADGE_TEXT = "tests/test_labels.py::test_badge_text"
BADGE_NOT_LABEL = "tests/test_labels.py::test_badge_is_not_a_label"
TOKEN_BY_DUNDER = "tests/test_labels.py::test_token_made_by_a_dunder"
DESCRIBE_BADGE = "tests/test_labels.py::test_describe_badge"
# tests/test_mixins.py
FANCY_RENDER = "tests/test_mixins.py::test_fancy_render"
BASE_RENDER = "tests/test_mixins.py::test_base_render"
MODE_REPR = "tests/test_mixins.py::test_mode_repr_beside_a_tag"
MODE_SHOUT = "tests/test_mixins.py::test_mode_shout"
TAG_NAME = "tests/test_mixins.py::test_tag_name"
# nested directories with their own conftest.py
HOOKED_ONE = "tests/hooked/test_hooked.py::test_hooked_one"
HOOKED_TWO = "tests/hooked/test_hooked.py::test_hooked_two"
OVERRIDDEN_GREETING = "tests/override/test_override.py::test_overridden_greeting"
EXTENDED_USER = "tests/extend/test_extend.py::test_extended_user"

ALL_TESTS = sorted(
    [
        *(IMPL_PARAM, OTHER_PARAM, DUCK_FAKE, BOUND_CALLBACK, LAMBDA_CALLBACK, IMPL_NO_CALL, COMPUTED_GETATTR),
        *(DISPATCH_GREET, DISPATCH_BYE, GREET_DIRECT, DOUBLE, DOUBLE_NAME, TRIPLE),
        *(TRIPLE_SUMMARY, METHOD_SUMMARY, SUMMARY_BESIDE, GREET_ALL, TRIPLE_NAME),
        *(FAHRENHEIT, KELVIN, FROM_FAHRENHEIT, CLAMP, DEFAULT_RETRIES, DEFAULT_HOSTS, DESCRIBE_EXPLICIT),
        *(RED_WARM, GREEN_VALUE, POINT_MANHATTAN, POINT_NO_DICT, META_TAGS, META_FILES, COUNTER_BUMP, COUNTER_STEP),
        *(RUN_ECHO, COUNT_DIRECT, REGISTRY_NAMES, SET_MODE, DEFAULT_MODE, RECORD, HISTORY_TUPLE),
        *(LAZY_ATTR, LAZY_FROM, JOINED, DUMPS, MAJOR, IMPORT_MODULE, DUNDER_IMPORT, COMPUTED_IMPORT),
        *(PATCH_STRING, PATCH_OBJECT, MONKEYPATCH_STRING, MONKEYPATCH_OBJECT),
        *(GREETING, USER, PLUGIN_FIXTURE, PLUGIN_MARKER, GETFIXTUREVALUE, SIZE_POSITIVE, MEDIUM_SIZE),
        *(AREA_POSITIVE, SQUARE_AREA, WIDGET_PARTS, ASSEMBLY_WIDGETS, ASSEMBLY_NOTHING),
        *(OPEN_LITERAL, PATH_FILE, RESOURCES, GET_DATA, TITLE_DUCK, RECORD_LABEL),
        *(LABEL_TEXT, BADGE_TEXT, BADGE_NOT_LABEL, TOKEN_BY_DUNDER, DESCRIBE_BADGE),
        *(FANCY_RENDER, BASE_RENDER, MODE_REPR, MODE_SHOUT, TAG_NAME),
        *(HOOKED_ONE, HOOKED_TWO, OVERRIDDEN_GREETING, EXTENDED_USER),
    ]
)
TEST_FUNCTIONS = 84  # node ids without parameters
# (pytest runs 87 items: size, shape and side are parametrized twice each; see test_fixture_projects.py)

COMPUTED_IMPORT_NOTE = "dynamic import with a computed module name"


def expect(*ids: str) -> list[str]:
    return sorted(ids)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("impactsel-cache")


@pytest.fixture
def dyn(git_repo, shared_cache, monkeypatch):
    """A fresh copy of fixtures/dynamic under git, with one commit on main.

    The copies share one impactsel cache (IMPACTSEL_CACHE_DIR): entries are keyed by file
    content, so a run parses only the files its test changed, and the suite stays fast.
    """
    monkeypatch.setenv("IMPACTSEL_CACHE_DIR", str(shared_cache))
    return git_repo("dynamic")


# -- calls through objects whose type is unknown ----------------------------------------------


def test_unknown_receiver_selects_the_tests_that_call_the_method_and_can_hold_the_class(dyn):
    # Impl.method: call_method(obj) does obj.method() with obj a parameter. Selected: the
    # tests that pass an Impl, a bound Impl().method as a callback, and a lambda calling
    # .method on make_impl()'s result (make_impl names Impl). Not selected: the tests that
    # call .method on an Other or on a duck-typed Fake and never reach Impl (the pruning is
    # the design), nor the test that makes an Impl without calling .method. The test that
    # picks the class by a computed getattr on the module reaches every member: selected.
    dyn.replace("dyn/duck.py", 'return "impl"', 'return "IMPL"')  # Impl.method

    assert dyn.ids() == expect(IMPL_PARAM, BOUND_CALLBACK, LAMBDA_CALLBACK, COMPUTED_GETATTR)


def test_unknown_receiver_whose_class_is_chosen_by_a_computed_name(dyn):
    # test_class_chosen_by_a_computed_name: module = importlib.import_module("dyn.duck");
    # cls = getattr(module, "impl".title()); call_method(cls()). It runs Impl.method.
    dyn.replace("dyn/duck.py", 'return "impl"', 'return "IMPL"')  # Impl.method

    assert dyn.ids() == expect(IMPL_PARAM, BOUND_CALLBACK, LAMBDA_CALLBACK, COMPUTED_GETATTR)


def test_type_test_does_not_make_an_object_of_the_class(dyn):
    # Label.text: show(obj) calls obj.text() on an unknown receiver. Only the test that can
    # hold a Label runs it; test_badge_is_not_a_label compares a Badge with Label
    # (isinstance), which makes no Label.
    dyn.replace("dyn/labels.py", "return self.value\n", "return self.value.strip()\n")

    assert dyn.ids() == expect(LABEL_TEXT)


def test_change_inside_a_class_does_not_reach_its_type_tests(dyn):
    # Label.__init__ runs for whoever makes a Label; isinstance(obj, Label) only asks what
    # the name Label is bound to, and the class statement did not change.
    dyn.replace("dyn/labels.py", 'text="label"', 'text="Label"')

    assert dyn.ids() == expect(LABEL_TEXT)


def test_change_to_the_class_statement_reaches_its_type_tests(dyn):
    dyn.replace("dyn/labels.py", "class Label:", "class Label(object):")

    assert dyn.ids() == expect(BADGE_NOT_LABEL, LABEL_TEXT)


def test_code_that_no_test_imports_is_not_where_a_call_lands(dyn):
    # Badge.shout: only scripts/demo.py calls .shout() (in Banner.text), and no test
    # imports that script, so the tests' .text() calls cannot land in Banner.text.
    dyn.replace("dyn/labels.py", 'return "BADGE"', 'return "BADGE!"')

    assert dyn.ids() == []


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        # pytest imports every module itself, for their doctests
        ("pyproject.toml", '"--strict-markers"]', '"--strict-markers", "--doctest-modules"]'),
        # a pytest plugin that the project installs: pytest loads it, whatever it imports
        ("pyproject.toml", "[tool.pytest", '[project.entry-points.pytest11]\ndyn = "dyn.testing.plugin"\n[tool.pytest'),
        # code that tests import runs a file by its path
        (
            "dyn/labels.py",
            "def apply(",
            "def run(path):\n    import runpy\n    return runpy.run_path(path)\n\n\ndef apply(",
        ),
    ],
    ids=["doctest-modules", "pytest11-entry-point", "run-path"],
)
def test_no_module_is_ruled_out_when_any_module_may_be_imported(dyn, path, old, new):
    dyn.replace(path, old, new)
    dyn.commit("base")
    dyn.replace("dyn/labels.py", 'return "BADGE"', 'return "BADGE!"')

    assert dyn.ids() == expect(BADGE_NOT_LABEL, BADGE_TEXT, DESCRIBE_BADGE)


def test_attribute_set_on_a_function_at_import_needs_only_its_name(dyn):
    # `describe.__doc__ = "..."` runs when dyn.labels is imported; it needs the name
    # describe bound, not describe's code: a change of that code selects its callers only.
    dyn.replace("dyn/labels.py", "return bracket(obj.text())", "return bracket(obj.text().strip())")

    assert dyn.ids() == expect(DESCRIBE_BADGE)


def test_attribute_set_on_a_function_that_calls_changed_code(dyn):
    # describe calls bracket: a change of bracket changes what describe does, not what
    # the name describe is bound to (describe is not decorated).
    dyn.replace("dyn/labels.py", 'return f"<{text}>"', 'return "<" + text + ">"')

    assert dyn.ids() == expect(DESCRIBE_BADGE)


def test_attribute_set_on_an_object_at_import_runs_its_setattr(dyn):
    # `SETTINGS.mode = "plain"` runs Settings.__setattr__ whenever dyn.labels is imported.
    dyn.replace("dyn/labels.py", "object.__setattr__(self, name, value)", "object.__setattr__(self, name, value or 0)")

    labels = (LABEL_TEXT, BADGE_TEXT, BADGE_NOT_LABEL, TOKEN_BY_DUNDER, DESCRIBE_BADGE)
    assert dyn.ids() == expect(*labels, COMPUTED_IMPORT)


def test_function_deleted_while_its_attribute_is_still_set_breaks_the_import(dyn):
    # Every importer of dyn.labels fails, test_computed_import too (it may import any module).
    dyn.replace("dyn/labels.py", "def describe(obj):\n    return bracket(obj.text())\n", "")

    labels = (LABEL_TEXT, BADGE_TEXT, BADGE_NOT_LABEL, TOKEN_BY_DUNDER, DESCRIBE_BADGE)
    assert dyn.ids() == expect(*labels, COMPUTED_IMPORT)


def test_object_made_by_a_dunder_method(dyn):
    # Token.text: the test calls .text() on what apply(Upper(), "a") returns. apply calls
    # the converter (its __call__, never named), which calls self.convert: Upper.convert
    # makes the Token. The test holds an Upper, so it can hold a Token.
    dyn.replace("dyn/labels.py", "return str(self.value)", "return str(self.value).strip()")

    assert dyn.ids() == expect(TOKEN_BY_DUNDER)


def test_self_attribute_found_in_a_mixin_of_a_subclass(dyn):
    # Base.render calls self.template(): on a Fancy, FancyMixin.template comes first in
    # the method resolution order, though FancyMixin is no base of Base.
    dyn.replace("dyn/mixins.py", 'return "fancy"', 'return "fancier"')  # FancyMixin.template

    assert dyn.ids() == expect(FANCY_RENDER)


def test_self_attribute_that_no_class_of_the_hierarchy_defines(dyn):
    # Mode.__repr__ reads self.name: Enum's, since neither Mode nor a subclass defines
    # name. The test also holds a Tag, whose name property is not what it reads.
    dyn.replace("dyn/mixins.py", 'return "tag"', 'return "TAG"')  # Tag.name

    assert dyn.ids() == expect(TAG_NAME)


def test_self_attribute_whose_definition_is_deleted(dyn):
    # Mode.shout calls self.upper_name(), deleted: shout now fails.
    dyn.replace("dyn/mixins.py", "    def upper_name(self):\n        return self.name.upper()\n", "")

    assert dyn.ids() == expect(MODE_SHOUT)


# -- decorators and registries -----------------------------------------------------------------


def test_function_filed_away_by_a_decorator_is_reached_by_whoever_reads_the_registry(dyn):
    # @register puts greet into HANDLERS; dispatch(name) calls HANDLERS[name]. Both dispatch
    # tests read HANDLERS (which key is a value, not a symbol), and one test calls greet.
    dyn.branch()
    dyn.replace("dyn/registry.py", 'return f"hello {who}"', 'return f"hello, {who}"')
    dyn.commit()

    assert dyn.ids() == expect(DISPATCH_GREET, DISPATCH_BYE, GREET_DIRECT)


def test_function_filed_away_by_a_decorator_factory_is_reached_by_whoever_reads_the_registry(dyn):
    dyn.replace("dyn/registry.py", 'return f"bye {who}"', 'return f"bye, {who}"')

    assert dyn.ids() == expect(DISPATCH_GREET, DISPATCH_BYE)


def test_functools_wraps_wrapper(dyn):
    # traced wraps double (at import); triple is not decorated.
    dyn.replace("dyn/wrapping.py", "CALLS.append(fn.__name__)", "CALLS.append(fn.__qualname__)")

    assert dyn.ids() == expect(DOUBLE, DOUBLE_NAME)


def test_name_of_a_function_is_not_its_code(dyn):
    # test_triple_name reads triple.__name__: the body of triple does not run.
    dyn.replace("dyn/wrapping.py", "return 3 * x", "return x * 3")

    assert dyn.ids() == expect(TRIPLE, TRIPLE_SUMMARY, SUMMARY_BESIDE)


def test_docstring_is_read_only_by_what_reads_docstrings(dyn):
    # summary(fn) reads inspect.getdoc(fn): of triple in the two tests that hand it
    # triple. test_triple runs triple, whose code did not change.
    dyn.replace("dyn/wrapping.py", '"""Three times x."""', '"""Thrice x."""')

    assert dyn.ids() == expect(TRIPLE_SUMMARY, SUMMARY_BESIDE)


def test_method_docstring_is_read_by_who_holds_the_method(dyn):
    # obj.greet.__doc__: a test that holds a Greeter but never reaches greet cannot read
    # it (greet_all calls .greet on objects of unknown type, and a test that does not run
    # greet_all holds a Greeter).
    dyn.replace("dyn/wrapping.py", '"""Say hello."""', '"""Greet."""')

    assert dyn.ids() == expect(METHOD_SUMMARY)


def test_property(dyn):
    # t = Temperature(100); t.fahrenheit: a constructor-typed local, looked up in the class.
    dyn.replace("dyn/temps.py", "return self.celsius * 9 / 5 + 32", "return self.celsius * 1.8 + 32")

    assert dyn.ids() == expect(FAHRENHEIT)


def test_cached_property(dyn):
    # Temperature(0).kelvin: an attribute of a call (unknown type), guarded by Temperature.
    dyn.replace("dyn/temps.py", "return self.celsius + 273.15", "return self.celsius + 273.0")

    assert dyn.ids() == expect(KELVIN)


def test_classmethod(dyn):
    dyn.replace("dyn/temps.py", "return cls((degrees - 32) * 5 / 9)", "return cls((degrees - 32) / 1.8)")
    dyn.stage()

    assert dyn.ids() == expect(FROM_FAHRENHEIT)


def test_staticmethod(dyn):
    dyn.replace("dyn/temps.py", "return max(-273.15, degrees)", "return max(-273.0, degrees)")

    assert dyn.ids() == expect(CLAMP)


def test_dataclass_field_default(dyn):
    # The generated __init__ reads every field's default: every user of Options, also the
    # one that passes retries explicitly (a symbol-level reading cannot tell).
    dyn.replace("dyn/options.py", "retries: int = 3", "retries: int = 5")

    assert dyn.ids() == expect(DEFAULT_RETRIES, DEFAULT_HOSTS, DESCRIBE_EXPLICIT)


def test_enum_member_value(dyn):
    # RED's value also decides aliases and iteration order: every user of Color, also the
    # one that reads GREEN only.
    dyn.replace("dyn/colors.py", "RED = 1", "RED = 3")

    assert dyn.ids() == expect(RED_WARM, GREEN_VALUE)


def test_slots(dyn):
    dyn.replace("dyn/points.py", '__slots__ = ("x", "y")', '__slots__ = ("x", "y", "z")')

    assert dyn.ids() == expect(POINT_MANHATTAN, POINT_NO_DICT)


def test_metaclass(dyn):
    # Tagged.__new__ runs when Model and User are made: the users of Tagged, Model and User.
    dyn.replace("dyn/meta.py", "cls.tag = name.lower()", "cls.tag = name.upper()")

    assert dyn.ids() == expect(META_TAGS, META_FILES)


def test_init_subclass_hook(dyn):
    # Task.__init_subclass__ runs when Echo and Count are made: every user of Task or of a
    # subclass (run_task reads Task.registry).
    dyn.replace(
        "dyn/tasks.py",
        "Task.registry[name or cls.__name__.lower()] = cls",
        "Task.registry[name or cls.__name__] = cls",
    )

    assert dyn.ids() == expect(RUN_ECHO, COUNT_DIRECT, REGISTRY_NAMES)


def test_subclass_registered_by_init_subclass_is_reached_through_the_registry(dyn):
    # run_task("echo") runs Echo().perform(); test_tasks.py imports dyn.builtin_tasks to register it.
    dyn.replace("dyn/builtin_tasks.py", 'return "echo"', 'return "ECHO"')

    assert dyn.ids() == expect(RUN_ECHO)


def test_class_attribute_read_through_instances(dyn):
    # Counter.step: self.step in bump, and Counter().step in a test.
    dyn.replace("dyn/counter.py", "step = 1", "step = 2")

    assert dyn.ids() == expect(COUNTER_BUMP, COUNTER_STEP)


# -- module-level state ------------------------------------------------------------------------


def test_global_rebound_by_a_setter(dyn):
    # set_mode does `global MODE; MODE = value`. Only the test that calls the setter runs
    # the new code: a write has no edge of its own (test_default_mode only reads MODE).
    dyn.replace("dyn/state.py", "    MODE = value\n", "    MODE = value.lower()\n")

    assert dyn.ids() == expect(SET_MODE)


def test_global_initial_value_reaches_its_readers(dyn):
    dyn.replace("dyn/state.py", 'MODE = "fast"', 'MODE = "quick"')

    assert dyn.ids() == expect(SET_MODE, DEFAULT_MODE)


def test_mutable_container_changed_by_a_function(dyn):
    # record() appends to EVENTS; history() reads it. Only the test that calls record runs it.
    dyn.replace("dyn/state.py", "EVENTS.append(event)", "EVENTS.append(str(event))")

    assert dyn.ids() == expect(RECORD)


def test_module_getattr_serves_a_name(dyn):
    # lazy.ANSWER and `from dyn.lazy import ANSWER` are served by __getattr__ (PEP 562).
    dyn.replace("dyn/lazy.py", "return 42", "return 43")

    assert dyn.ids() == expect(LAZY_ATTR, LAZY_FROM)


def test_conditional_definition(dyn):
    # `if sys.version_info >= (3, 8): def joined ... else: def joined ...`: both branches
    # are one symbol; edit the branch that runs here.
    dyn.replace("dyn/compat.py", 'return ", ".join(items)', 'return " , ".join(items)')

    assert dyn.ids() == expect(JOINED)


def test_conditional_definition_in_the_other_branch(dyn):
    # The else branch does not run on this interpreter, but impactsel does not know which
    # interpreters run the suite and never evaluates the condition: deliberate (the branches
    # of one name are one symbol).
    dyn.replace("dyn/compat.py", 'return ",".join(items)', 'return ";".join(items)')

    assert dyn.ids() == expect(JOINED)


def test_condition_of_a_conditional_definition_is_top_level_code(dyn):
    # The `if` test is top-level code of dyn.compat: it reaches every importer (README,
    # "a change to top-level statements reaches every importer"): test_modules.py imports
    # compat. test_computed_import: load()'s computed import is taken to import any module
    # of dyn, deliberately (see test_computed_dynamic_import_widens_to_the_package).
    dyn.replace("dyn/compat.py", "(3, 8)", "(3, 9)")

    assert dyn.ids() == expect(LAZY_ATTR, LAZY_FROM, JOINED, DUMPS, MAJOR, COMPUTED_IMPORT)


def test_try_import_with_a_fallback(dyn):
    # `try: import json as fast_json except ImportError: fast_json = None`: fast_json is one
    # symbol whatever branch binds it; dumps uses it, major does not. (Where simplejson is
    # missing, fast_json is now None and dumps fails.)
    dyn.replace("dyn/compat.py", "    import json as fast_json\n", "    import simplejson as fast_json\n")

    assert dyn.ids() == expect(DUMPS)


def test_import_added_at_module_level_reaches_the_importers(dyn):
    # test_typed.py imports dyn.records: both its tests fail at import once dyn.records
    # imports a module that does not exist. (dyn.typed imports it under TYPE_CHECKING only.)
    dyn.replace(
        "dyn/records.py",
        '"""A class that another module names in annotations only."""\n',
        '"""A class that another module names in annotations only."""\n\nimport dyn.nothing_here\n',
    )

    # test_computed_import imports a module of dyn chosen at run time: any of them, so
    # dyn.records too (the documented widening of a computed import).
    assert dyn.ids() == expect(TITLE_DUCK, RECORD_LABEL, COMPUTED_IMPORT)


# -- dynamic imports and string references ------------------------------------------------------


def test_import_module_with_a_literal_name(dyn):
    # importlib.import_module("dyn.plugins.alpha").activate(). load(name) imports
    # f"dyn.plugins.{name}": it may import alpha too.
    dyn.replace("dyn/plugins/alpha.py", 'return "alpha"', 'return "ALPHA"')

    assert dyn.ids() == expect(IMPORT_MODULE, COMPUTED_IMPORT)


def test_dunder_import_with_a_literal_name(dyn):
    dyn.replace("dyn/plugins/beta.py", 'return "beta"', 'return "BETA"')

    assert dyn.ids() == expect(DUNDER_IMPORT, COMPUTED_IMPORT)


def test_computed_dynamic_import_widens_to_the_package(dyn):
    # load(name) imports f"dyn.plugins.{name}": only it can reach gamma. A computed module
    # name may be any module of the package in scope: impactsel takes every module of the
    # top-level package dyn (not only dyn.plugins, the f-string's literal prefix), so load's
    # users are selected by a change to any module of dyn (see the condition test above).
    dyn.replace("dyn/plugins/gamma.py", 'return "gamma"', 'return "GAMMA"')

    assert dyn.ids() == expect(COMPUTED_IMPORT)


def test_computed_dynamic_import_is_reported_on_stderr(dyn):
    dyn.replace("dyn/plugins/gamma.py", 'return "gamma"', 'return "GAMMA"')

    run = dyn.select()

    assert run.code == 0
    assert COMPUTED_IMPORT_NOTE in run.err


def test_mock_patch_with_a_dotted_string(dyn):
    # mock.patch("dyn.clock.now") is the test's only link to now: renaming now breaks it.
    dyn.replace("dyn/clock.py", "def now():", "def now_seconds():")

    assert dyn.ids() == expect(PATCH_STRING)


def test_mock_patch_object_with_an_attribute_name(dyn):
    dyn.replace("dyn/clock.py", "def monotonic():", "def monotonic_seconds():")

    assert dyn.ids() == expect(PATCH_OBJECT)


def test_monkeypatch_setattr_with_a_dotted_string(dyn):
    dyn.replace("dyn/clock.py", "def local_zone():", "def zone():")

    assert dyn.ids() == expect(MONKEYPATCH_STRING)


def test_monkeypatch_setattr_with_an_object_and_a_name(dyn):
    dyn.replace("dyn/clock.py", "def utc_offset():", "def offset():")

    assert dyn.ids() == expect(MONKEYPATCH_OBJECT)


def test_fixture_of_a_plugin_named_by_pytest_plugins(dyn):
    # tests/conftest.py: pytest_plugins = ["dyn.testing.plugin"], which defines fake_db.
    dyn.replace("dyn/testing/plugin.py", 'return {"users": ["ann"]}', 'return {"users": ["ann", "bob"]}')

    assert dyn.ids() == expect(PLUGIN_FIXTURE)


def test_hook_of_a_plugin_named_by_pytest_plugins_selects_every_test(dyn):
    dyn.replace("dyn/testing/plugin.py", '"db: the test uses the fake database"', '"database: the fake database"')

    assert dyn.ids() == ALL_TESTS


def test_fixture_requested_by_getfixturevalue(dyn):
    dyn.replace("tests/conftest.py", 'return "t0k3n"', 'return "token"')

    assert dyn.ids() == expect(GETFIXTUREVALUE)


# -- pytest specifics ---------------------------------------------------------------------------


def test_root_conftest_hook_selects_every_test(dyn):
    # pytest_configure of tests/conftest.py: every test is below it. (The list is also the
    # check that ALL_TESTS above is the whole sample project.)
    dyn.branch()
    dyn.replace("tests/conftest.py", '"slow: a test that takes its time"', '"slow: a test that takes a while"')
    dyn.commit()

    report = dyn.select("--format", "json")

    assert report.code == 0, report.err
    assert report.json["total_tests"] == TEST_FUNCTIONS == len(set(ALL_TESTS))
    assert [t["nodeid"] for t in report.json["tests"]] == ALL_TESTS


def test_runtest_hook_of_a_nested_conftest_selects_the_tests_below_it(dyn):
    # pytest calls pytest_runtest_setup through item.ihook: for the items below that conftest only.
    dyn.replace("tests/hooked/conftest.py", '("hooked", True)', '("hooked", "yes")')

    assert dyn.ids() == expect(HOOKED_ONE, HOOKED_TWO)


def test_collection_hook_of_a_nested_conftest_selects_every_test(dyn):
    # The hook sorts the whole session's items: the order of every test changes.
    dyn.replace(
        "tests/hooked/conftest.py",
        "items.sort(key=lambda item: item.nodeid.startswith(HOOKED))",
        "items.sort(key=lambda item: not item.nodeid.startswith(HOOKED))",
    )

    assert dyn.ids() == ALL_TESTS


def test_fixture_overridden_in_a_nested_conftest(dyn):
    # tests/override/conftest.py redefines greeting for the tests below it only.
    dyn.replace("tests/override/conftest.py", 'return "hi"', 'return "hiya"')

    assert dyn.ids() == expect(OVERRIDDEN_GREETING)


def test_fixture_overriding_and_requesting_its_parent(dyn):
    # tests/extend/conftest.py: `def user(user)` requests the root user fixture.
    dyn.replace("tests/conftest.py", 'return "ann"', 'return "bea"')

    assert dyn.ids() == expect(USER, EXTENDED_USER)


def test_fixture_replaced_in_a_nested_conftest_does_not_select_the_tests_below_it(dyn):
    dyn.replace("tests/conftest.py", 'return "hello"', 'return "hey"')

    assert dyn.ids() == expect(GREETING)


def test_parametrized_fixture_params_reference_module_constants(dyn):
    # @pytest.fixture(params=[SMALL, LARGE]) def size(...); MEDIUM is read by another test.
    dyn.replace("dyn/sizes.py", "SMALL = 1", "SMALL = 2")

    assert dyn.ids() == expect(SIZE_POSITIVE)


def test_parametrize_arguments_reference_module_objects(dyn):
    # @pytest.mark.parametrize("shape", [Circle(1), Square(2)]) then shape.area().
    # test_square_area calls Square(side).area() and never reaches Circle.
    dyn.replace("dyn/shapes.py", "return 3 * self.radius * self.radius", "return 3.14 * self.radius * self.radius")

    assert dyn.ids() == expect(AREA_POSITIVE)


def test_parametrize_arguments_reference_a_module_constant(dyn):
    # @pytest.mark.parametrize("side", [UNIT, 2 * UNIT]) is evaluated when the test module
    # is imported. It only looks names up: if that failed, pytest could not collect
    # tests/test_fixtures.py, which the run of test_square_area shows. No other test of it.
    dyn.replace("dyn/shapes.py", "UNIT = 1", "UNIT = 2")

    assert dyn.ids() == expect(SQUARE_AREA)


def test_parametrize_arguments_that_call_code_at_import(dyn):
    # [Circle(1), Square(2)] runs the constructors when the module is imported: what they
    # do may act on any test of the module, so all of them are selected.
    dyn.replace("dyn/shapes.py", "self.radius = radius", "self.radius = radius + 0")

    module = "tests/test_fixtures.py::"
    names = ["area_is_positive", "getfixturevalue", "greeting", "medium_size", "plugin_fixture", "plugin_marker"]
    names += ["size_is_positive", "square_area", "user"]
    assert dyn.ids() == expect(*(f"{module}test_{name}" for name in names))


def test_helper_imported_from_another_test_module(dyn):
    # tests/test_assembly.py: from tests.test_widgets import make_widget.
    dyn.replace("tests/test_widgets.py", '"parts": 2}', '"parts": 3}')

    assert dyn.ids() == expect(WIDGET_PARTS, ASSEMBLY_WIDGETS)


# -- data files ------------------------------------------------------------------------------------


def test_data_file_opened_by_a_literal_path(dyn):
    # load_x: open("data/x.json"). load_y names "data" too (Path(__file__).parent / "data"
    # / "y.txt", another directory of that name): documented, a non-Python file selects the
    # code that names "its file name or a directory above it", matched by name, not by path.
    dyn.write("data/x.json", '{"x": 2}\n')

    assert dyn.ids() == expect(OPEN_LITERAL, PATH_FILE)


def test_data_file_next_to_the_module(dyn):
    # load_y names "data" and "y.txt". load_z and load_w name "dyn", a directory above
    # dyn/data/y.txt: documented (see above).
    dyn.write("dyn/data/y.txt", "wye\n")

    assert dyn.ids() == expect(PATH_FILE, RESOURCES, GET_DATA)


def test_data_file_read_through_importlib_resources(dyn):
    # files("dyn").joinpath("z.cfg"); load_w names "dyn", the directory holding z.cfg: documented.
    dyn.branch()
    dyn.write("dyn/z.cfg", "zed = 0\n")
    dyn.commit()

    assert dyn.ids() == expect(RESOURCES, GET_DATA)


def test_data_file_read_through_pkgutil_get_data(dyn):
    # get_data("dyn", "w.dat"); load_z names "dyn", the directory holding w.dat: documented.
    dyn.write("dyn/w.dat", "w\n")

    assert dyn.ids() == expect(GET_DATA, RESOURCES)


# -- type-only imports ---------------------------------------------------------------------------


def test_type_checking_import_and_annotation_keep_their_edge(dyn):
    # dyn.typed imports Record under `if TYPE_CHECKING:` and names it in an annotation only
    # (with `from __future__ import annotations`): at run time title() never touches Record.
    # impactsel keeps the edge on purpose (safe), so test_title_of_a_duck, which never makes
    # a Record, is selected beside the test that does.
    dyn.replace("dyn/records.py", 'kind = "record"', 'kind = "rec"')

    assert dyn.ids() == expect(RECORD_LABEL, TITLE_DUCK)
