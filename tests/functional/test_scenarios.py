"""End to end: a real edit on a copy of a sample project -> the exact tests impactsel prints.

Every expected selection below was worked out by hand from the change and the
documented semantics (symbol level: a changed symbol selects the tests that reach
it; unknown receivers ``obj.m()`` reach every definition named ``m``), never copied
from impactsel's output. Each assertion compares the full sorted list, so a test
that should not be selected fails the scenario as surely as a missing one.

The sample projects live in ``fixtures/`` (see their test suites for the node ids):
``flat`` (pyproject.toml), ``srclayout`` (setup.cfg), ``richpkg`` (pytest.ini).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

# -- node ids of the sample projects -------------------------------------------------

# flat
CHECK_ADD = "tests/check_core.py::check_add"
CHECK_SHOW = "tests/check_fmt.py::check_show"
CHECK_AREA = "tests/check_geometry.py::CheckGeometry::check_area"
CHECK_PERIMETER = "tests/check_geometry.py::CheckGeometry::check_perimeter"
CHECK_MEAN = "tests/check_stats.py::check_mean"

# srclayout
IT_COUNTS = "tests/cart_spec.py::it_counts_items"
IT_TOTALS = "tests/cart_spec.py::it_totals_prices"
TEST_PRICE = "tests/test_catalog.py::test_price"
TEST_LABEL = "tests/test_catalog.py::test_label"
TEST_RECEIPT = "tests/test_checkout.py::test_receipt"
TEST_FMT = "tests/test_money.py::test_fmt"
TEST_PARSE = "tests/test_money.py::test_parse"

# richpkg
DOG_SPEAKS = "tests/test_animals.py::test_dog_speaks"
KENNEL = "tests/test_animals.py::test_kennel"
PUPPY_YOUNG = "tests/test_animals.py::test_puppy_is_young"
BIRD_DESCRIBE = "tests/test_animals.py::test_bird_describe"
ANIMAL_SOUND = "tests/test_animals.py::TestAnimal::test_sound"
ANIMAL_DESCRIBE = "tests/test_animals.py::TestAnimal::test_describe"
SHELTER_SOUND = "tests/sub/test_shelter.py::TestShelterDog::test_sound"
SHELTER_DESCRIBE = "tests/sub/test_shelter.py::TestShelterDog::test_describe"
SHELTER_GREETS = "tests/sub/test_shelter.py::TestShelterDog::test_greets"
SHELTER_QUIET = "tests/sub/test_shelter.py::test_quiet"
DATA_ROWS = "tests/test_data.py::test_rows"
FEED = "tests/test_feeding.py::FeedingSuite::test_feed"
RATION = "tests/test_feeding.py::FeedingSuite::test_ration"
RECORD_LABEL = "tests/test_records.py::RecordTests::test_label"
RECORD_LIGHT = "tests/test_records.py::RecordTests::test_light"
RECORD_MAKE = "tests/test_records.py::test_make"
SUMMARY = "tests/test_report.py::test_summary"
HEADLINE = "tests/test_report.py::test_headline"
SHOUT = "tests/test_util.py::test_shout"
WHISPER = "tests/test_util.py::test_whisper"
TIDY = "tests/test_util.py::test_tidy"

EVERY_TEST = ["tests"]  # what ids/files print when every test is selected: the testpaths


def expect(*ids: str) -> list[str]:
    return sorted(ids)


# -- flat layout, pyproject.toml ------------------------------------------------------


def test_flat_import_forms_reach_a_changed_function(git_repo):
    # add is used as `from calc.core import add`, as `cc.add` (import calc.core as cc)
    # and as `calc.core.add` (import calc.core). Committed on a branch.
    repo = git_repo("flat")
    repo.branch()
    repo.replace("calc/core.py", "return a + b", "return b + a")
    repo.commit()

    assert repo.ids() == expect(CHECK_ADD, CHECK_PERIMETER, CHECK_MEAN)


def test_flat_import_as_alias_and_python_classes(git_repo):
    # `import calc.core as cc; cc.mul(...)`. TestNotACheck also uses mul but is no test
    # class under python_classes = ["Check"]. Unstaged.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a * b", "return b * a")

    assert repo.ids() == expect(CHECK_AREA, CHECK_PERIMETER)


def test_flat_from_package_import_submodule_reads_a_constant(git_repo):
    # `from calc import core` then `core.PRECISION`. Staged.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "PRECISION = 2", "PRECISION = 3")
    repo.stage()

    assert repo.ids() == expect(CHECK_SHOW)


def test_flat_module_global_used_by_a_function(git_repo):
    repo = git_repo("flat")
    repo.replace("calc/fmt.py", 'UNIT = "m"', 'UNIT = "cm"')

    assert repo.ids() == expect(CHECK_SHOW)


def test_flat_function_calling_a_function_of_its_own_module(git_repo):
    repo = git_repo("flat")
    repo.replace("calc/stats.py", "    result = 0\n", "    result = 0.0\n")

    assert repo.ids() == expect(CHECK_MEAN)


def test_flat_files_pytest_does_not_collect_are_no_tests(git_repo):
    # python_files (test_old.py), python_functions (test_not_a_check), python_classes
    # (TestNotACheck) and testpaths (tools/) all come from pyproject.toml.
    repo = git_repo("flat")
    repo.replace("tests/test_old.py", "add(1, 1) == 2", "add(2, 2) == 4")
    repo.replace("tests/check_core.py", "assert add(1, 1) == 2", "assert add(1, 2) == 3")
    repo.replace("tests/check_geometry.py", "assert area(1, 1) == 1", "assert area(2, 2) == 4")
    repo.replace("tools/check_release.py", "add(0, 0) == 0", "add(1, 0) == 1")

    assert repo.ids() == []


def test_flat_pyproject_change_selects_every_test(git_repo):
    repo = git_repo("flat")
    repo.replace("pyproject.toml", 'version = "0.1.0"', 'version = "0.2.0"')

    assert repo.ids() == EVERY_TEST


# -- src layout, setup.cfg --------------------------------------------------------------


def test_src_layout_changed_function_and_setup_cfg_python_files(git_repo):
    # fmt: test_fmt, label (test_label) and receipt (test_receipt). legacy_test.py uses it
    # too but is not a test module under setup.cfg's python_files. Committed on a branch.
    repo = git_repo("srclayout")
    repo.branch()
    repo.replace(
        "src/shop/money.py", 'return f"{cents / 100:.2f} {CURRENCY}"', 'return f"{cents / 100:.3f} {CURRENCY}"'
    )
    repo.commit()

    assert repo.ids() == expect(TEST_FMT, TEST_LABEL, TEST_RECEIPT)


def test_src_layout_module_level_constant(git_repo):
    repo = git_repo("srclayout")
    repo.replace("src/shop/money.py", 'CURRENCY = "EUR"', 'CURRENCY = "USD"')

    assert repo.ids() == expect(TEST_FMT, TEST_LABEL, TEST_RECEIPT)


def test_src_layout_module_level_dict_used_through_a_submodule_import(git_repo):
    # PRICES -> price -> label; Cart.total uses `catalog.price` (from shop import catalog);
    # receipt calls cart.total(). it_counts_items never prices anything.
    repo = git_repo("srclayout")
    repo.replace("src/shop/catalog.py", '"pear": 75', '"pear": 80')
    repo.stage()

    assert repo.ids() == expect(IT_TOTALS, TEST_PRICE, TEST_LABEL, TEST_RECEIPT)


def test_src_layout_instantiation_uses_init(git_repo):
    repo = git_repo("srclayout")
    repo.replace("src/shop/cart.py", "self.lines = {}", "self.lines = dict()")

    assert repo.ids() == expect(IT_COUNTS, IT_TOTALS, TEST_RECEIPT)


def test_src_layout_method_called_on_an_unknown_receiver(git_repo):
    # Cart().add("apple", 2).count(): the only definition named count.
    repo = git_repo("srclayout")
    repo.replace("src/shop/cart.py", "return sum(self.lines.values())", "return sum(list(self.lines.values()))")

    assert repo.ids() == expect(IT_COUNTS)


def test_src_layout_deleted_function_still_used_by_a_test(git_repo):
    repo = git_repo("srclayout")
    repo.replace(
        "src/shop/money.py",
        "\n\ndef parse(text):\n    amount, _ = text.split()\n    return round(float(amount) * 100)\n",
        "",
    )

    # test_money.py imports parse at the top: it no longer imports, test_fmt fails too.
    assert repo.ids() == expect(TEST_PARSE, TEST_FMT)


def test_src_layout_deleted_method_still_called_on_an_unknown_receiver(git_repo):
    repo = git_repo("srclayout")
    repo.replace("src/shop/cart.py", "\n\n    def count(self):\n        return sum(self.lines.values())\n", "\n")

    assert repo.ids() == expect(IT_COUNTS)


def test_flat_import_from_the_standard_library_added_to_a_test_module(git_repo):
    # Only the new check uses Fraction: the module's other checks do not depend on it.
    repo = git_repo("flat")
    path = "tests/check_core.py"
    repo.replace(path, "from calc.core import", "from fractions import Fraction\n\nfrom calc.core import")
    repo.write(path, repo.read(path) + "\n\ndef check_halves():\n    assert add(Fraction(1, 2), Fraction(1, 2)) == 1\n")

    assert repo.ids() == expect("tests/check_core.py::check_halves")


def test_flat_deleted_function_that_a_test_module_imports(git_repo):
    # check_core.py imports sub at the top: it no longer imports, check_add fails too.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "def sub(a, b):\n    return a - b\n", "")

    assert repo.ids() == expect(CHECK_ADD, "tests/check_core.py::check_sub")


def test_flat_deleted_name_that_a_module_imports_at_the_top(git_repo):
    # calc/fmt.py imports PRECISION at the top (and uses it through core): fmt no longer
    # imports, so neither does check_fmt.py, which imports fmt.
    repo = git_repo("flat")
    repo.replace("calc/fmt.py", "from calc import core\n", "from calc import core\nfrom calc.core import PRECISION\n")
    repo.commit("import PRECISION")
    repo.replace("calc/core.py", "PRECISION = 2\n", "")

    assert repo.ids() == expect(CHECK_SHOW)


def test_flat_unused_import_removed_where_its_module_is_still_imported(git_repo):
    # calc.core still runs when calc.fmt is imported (``from calc import core``): the
    # removed line only unbinds ``add`` in calc.fmt, which nothing there uses.
    repo = git_repo("flat")
    repo.replace("calc/fmt.py", "from calc import core\n", "from calc import core\nfrom calc.core import add\n")
    repo.commit("import add")
    repo.replace("calc/fmt.py", "from calc.core import add\n", "")

    assert repo.ids() == expect()


def test_flat_import_removed_that_was_the_only_one_of_its_module(git_repo):
    # calc.stats no longer runs when calc.fmt is imported: what imports fmt is affected.
    repo = git_repo("flat")
    repo.replace("calc/fmt.py", "from calc import core\n", "from calc import core\nimport calc.stats\n")
    repo.commit("import stats")
    repo.replace("calc/fmt.py", "import calc.stats\n", "")

    assert repo.ids() == expect(CHECK_SHOW)


def test_flat_deleted_name_that_a_conftest_imports(git_repo):
    # tests/geo/conftest.py no longer imports: every test of its directory fails, the
    # ones that use none of its fixtures too; the other directories are not affected.
    repo = git_repo("flat")
    repo.write("tests/geo/conftest.py", "from calc.core import sub\n")
    repo.rename("tests/check_geometry.py", "tests/geo/check_geometry.py")
    repo.commit("geometry checks in a directory of their own")
    repo.replace("calc/core.py", "def sub(a, b):\n    return a - b\n", "")

    # check_core.py imports sub too (see test_flat_deleted_function_that_a_test_module_imports).
    assert repo.ids() == expect(
        CHECK_ADD,
        "tests/check_core.py::check_sub",
        "tests/geo/check_geometry.py::CheckGeometry::check_area",
        "tests/geo/check_geometry.py::CheckGeometry::check_perimeter",
    )


STORE = """\
import collections.abc


class Store(collections.abc.MutableMapping):
    def __init__(self):
        self._data = {}

    def __getitem__(self, key):
        return self._data[key]

    def __setitem__(self, key, value):
        self._data[key] = value

    def __delitem__(self, key):
        del self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def keys(self):
        return list(self._data)

    def popitem(self):
        return self._data.popitem()

    def describe(self):
        return f"{len(self)} items"
"""

CHECK_STORE = """\
from calc.store import Store


def check_item():
    store = Store()
    store["a"] = 1
    assert dict(store) == {"a": 1}


def check_describe():
    assert Store().describe() == "0 items"


def check_clear():
    store = Store()
    store["a"] = 1
    store.clear()
    assert not store
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # Code that knows a Store only as a mapping (dict(store)) calls keys(): every holder.
        ("return list(self._data)", "return [*self._data]", ["check_clear", "check_describe", "check_item"]),
        # The clear() of MutableMapping calls popitem(): every holder.
        (
            "return self._data.popitem()",
            "return self._data.popitem() or None",
            ["check_clear", "check_describe", "check_item"],
        ),
        # No code of MutableMapping calls describe(): who names it does.
        ('return f"{len(self)} items"', 'return f"{len(self)} item(s)"', ["check_describe"]),
        # Nor clear(), once the class has its own: who names it calls it.
        (
            "    def describe(self):",
            "    def clear(self):\n        self._data.clear()\n\n    def describe(self):",
            ["check_clear"],
        ),
    ],
)
def test_flat_subclass_of_a_collections_abc_protocol(git_repo, old, new, expected):
    repo = git_repo("flat")
    repo.write("calc/store.py", STORE)
    repo.write("tests/check_store.py", CHECK_STORE)
    repo.commit("a store")
    repo.replace("calc/store.py", old, new)

    assert repo.ids() == expect(*(f"tests/check_store.py::{name}" for name in expected))


def test_src_layout_deleted_module_still_imported_by_a_test(git_repo):
    repo = git_repo("srclayout")
    repo.delete("src/shop/checkout.py")

    assert repo.ids() == expect(TEST_RECEIPT)


def test_src_layout_renamed_module_whose_importers_were_not_updated(git_repo):
    repo = git_repo("srclayout")
    repo.rename("src/shop/checkout.py", "src/shop/till.py")

    assert repo.ids() == expect(TEST_RECEIPT)


def test_src_layout_renamed_module_with_its_importer_updated(git_repo):
    repo = git_repo("srclayout")
    repo.branch()
    repo.rename("src/shop/checkout.py", "src/shop/till.py")
    repo.replace("tests/test_checkout.py", "from shop.checkout import", "from shop.till import")
    repo.commit()

    assert repo.ids() == expect(TEST_RECEIPT)


def test_src_layout_renamed_test_module_selects_its_tests_under_the_new_name(git_repo):
    repo = git_repo("srclayout")
    repo.rename("tests/cart_spec.py", "tests/basket_spec.py")

    assert repo.ids() == expect("tests/basket_spec.py::it_counts_items", "tests/basket_spec.py::it_totals_prices")


def test_src_layout_deleted_test_module_selects_nothing(git_repo):
    # Its tests no longer exist; nothing else uses it.
    repo = git_repo("srclayout")
    repo.git("rm", "-q", "tests/test_money.py")

    assert repo.ids() == []


def test_src_layout_added_module_and_new_test_file(git_repo):
    # Both untracked: the new test is selected, nothing else uses the new module.
    repo = git_repo("srclayout")
    repo.write(
        "src/shop/coupons.py",
        """\
        def half(cents):
            return cents // 2
        """,
    )
    repo.write(
        "tests/test_coupons.py",
        """\
        from shop.coupons import half


        def test_half():
            assert half(10) == 5
        """,
    )

    assert repo.ids() == expect("tests/test_coupons.py::test_half")


def test_src_layout_edit_of_a_module_pytest_does_not_collect(git_repo):
    repo = git_repo("srclayout")
    repo.replace("tests/legacy_test.py", 'fmt(0) == "0.00 EUR"', 'fmt(100) == "1.00 EUR"')

    assert repo.ids() == []


def test_src_layout_setup_cfg_change_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    repo.replace("setup.cfg", "version = 0.1.0", "version = 0.2.0")

    assert repo.ids() == EVERY_TEST


def test_src_layout_non_python_file_nobody_names_selects_every_test(git_repo):
    repo = git_repo("srclayout")
    repo.write("src/shop/rates.json", '{"EUR": 1.0}\n')

    assert repo.ids() == EVERY_TEST


def test_src_layout_documentation_nobody_names_selects_nothing(git_repo):
    # README: documentation (*.md, docs/, ...) that no code names selects nothing.
    repo = git_repo("srclayout")
    repo.write("docs/notes.md", "# Notes\n")

    assert repo.ids() == []


def test_src_layout_committed_staged_unstaged_and_untracked_changes_add_up(git_repo):
    # Committed on the branch: count. Committed on main after the branch point: PRICES
    # (not in the work tree, so not a change). Staged: parse. Unstaged: CURRENCY.
    # Untracked: a new test module.
    repo = git_repo("srclayout")
    repo.branch()
    repo.replace("src/shop/cart.py", "return sum(self.lines.values())", "return sum(list(self.lines.values()))")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.replace("src/shop/catalog.py", '"pear": 75', '"pear": 80')
    repo.commit("later on main")
    repo.git("checkout", "-q", "feature")
    repo.replace("src/shop/money.py", "return round(float(amount) * 100)", "return int(float(amount) * 100)")
    repo.stage()
    repo.replace("src/shop/money.py", 'CURRENCY = "EUR"', 'CURRENCY = "USD"')
    repo.write(
        "tests/test_extra.py",
        """\
        def test_extra():
            assert True
        """,
    )

    assert repo.ids() == expect(
        IT_COUNTS, TEST_PARSE, TEST_FMT, TEST_LABEL, TEST_RECEIPT, "tests/test_extra.py::test_extra"
    )


def test_src_layout_format_files(git_repo):
    repo = git_repo("srclayout")
    repo.replace("src/shop/money.py", 'CURRENCY = "EUR"', 'CURRENCY = "USD"')

    assert repo.ids("--format", "files") == ["tests/test_catalog.py", "tests/test_checkout.py", "tests/test_money.py"]


# -- richpkg, pytest.ini ------------------------------------------------------------------


def test_relative_import_of_a_submodule_and_its_constant(git_repo):
    # `from . import config`; config.SOUNDS is read by Dog.sound and Bird.sound, which
    # Animal.speak reaches through self.sound(). Tests call .speak() and .sound() on
    # unknown receivers: only those that can hold a Dog run Dog.sound. TestAnimal's own
    # test_sound makes an Animal (kind = Animal); its copy in TestShelterDog makes a Dog.
    repo = git_repo("richpkg")
    repo.replace("zoo/config.py", '"dog": "woof"', '"dog": "wuff"')

    assert repo.ids() == expect(DOG_SPEAKS, SHELTER_SOUND)


def test_constant_read_by_a_base_class_init(git_repo):
    # MAX_AGE -> Animal.__init__ -> every instantiation of Animal, Dog, Puppy, Bird.
    repo = git_repo("richpkg")
    repo.branch()
    repo.replace("zoo/config.py", "MAX_AGE = 30", "MAX_AGE = 40")
    repo.commit()

    assert repo.ids() == expect(
        DOG_SPEAKS,
        KENNEL,
        PUPPY_YOUNG,
        BIRD_DESCRIBE,
        ANIMAL_SOUND,
        ANIMAL_DESCRIBE,
        SHELTER_SOUND,
        SHELTER_DESCRIBE,
        SHELTER_GREETS,
        FEED,
    )


def test_reexport_via_package_init_and_init_through_super(git_repo):
    # `from zoo import Puppy` (re-exported by zoo/__init__.py); Puppy.__init__ runs on
    # Puppy("bit") in the test and in the litter fixture.
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", "super().__init__(nick, age=0)", "super().__init__(nick.title(), age=0)")

    assert repo.ids() == expect(PUPPY_YOUNG, SHELTER_GREETS)


def test_changed_base_class_list(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", "class Puppy(Dog):", "class Puppy(Dog, object):")

    assert repo.ids() == expect(PUPPY_YOUNG, SHELTER_GREETS)


def test_star_import_honours_all(git_repo):
    # test_util does `from zoo.util import *` then `from zoo.extras import *`; util's
    # __all__ leaves tidy out, so test_tidy uses extras.tidy, never util.tidy.
    repo = git_repo("richpkg")
    repo.replace("zoo/util.py", "return text.strip()", "return text.strip(' ')")
    repo.replace("zoo/util.py", 'return text.lower() + "..."', 'return text.lower() + "…"')

    assert repo.ids() == expect(WHISPER)


def test_star_import_without_all_exports_public_names(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/extras.py", 'return " ".join(text.split())', 'return " ".join(text.split(" "))')

    assert repo.ids() == expect(TIDY)


def test_function_reexported_by_star_import_in_package_init(git_repo):
    # shout: Dog.speak (from .util import shout) and test_shout (star import).
    repo = git_repo("richpkg")
    repo.replace("zoo/util.py", 'return text.upper() + "!"', 'return text.upper() + "!!"')
    repo.stage()

    assert repo.ids() == expect(DOG_SPEAKS, SHOUT)


def test_relative_import_inside_a_function(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/config.py", 'TITLE = "Zoo report"', 'TITLE = "Zoo summary"')

    assert repo.ids() == expect(HEADLINE)


def test_attribute_chain_through_package_and_subpackage(git_repo):
    # `import zoo.sub.deep` ... `zoo.sub.deep.depth()`, and `zoo.report.summary()`.
    repo = git_repo("richpkg")
    repo.replace("zoo/sub/deep.py", "return 3", "return 4")

    assert repo.ids() == expect(SUMMARY)


def test_self_method_through_class_and_bases(git_repo):
    # TestAnimal.test_sound/test_describe call self.make(); TestShelterDog inherits make.
    repo = git_repo("richpkg")
    repo.replace("tests/test_animals.py", 'return self.kind("generic")', 'return self.kind("any")')

    assert repo.ids() == expect(ANIMAL_SOUND, ANIMAL_DESCRIBE, SHELTER_SOUND, SHELTER_DESCRIBE)


def test_self_method_does_not_reach_unrelated_definitions_of_that_name(git_repo):
    # zoo.records.make shares its name with TestAnimal.make: self.make() is resolved in
    # TestAnimal's hierarchy, so only the test that imports records.make is selected.
    repo = git_repo("richpkg")
    repo.replace("zoo/records.py", "return Record(label)", "return Record(label, kg=1.0)")

    assert repo.ids() == expect(RECORD_MAKE)


def test_super_call_reaches_the_overridden_method(git_repo):
    # Dog.speak returns shout(super().speak()); dog.speak() in test_dog_speaks.
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", 'return f"{self.nick} says {self.sound()}"', 'return f"{self.nick}: {self.sound()}"')

    assert repo.ids() == expect(DOG_SPEAKS)


def test_class_attribute_of_a_subclass(git_repo):
    # Bird.legs: Bird's users (test_bird_describe, test_feed). Animal.describe reads
    # self.legs, but TestAnimal and TestShelterDog describe an Animal and a Dog: they
    # never reach Bird, so they cannot hold one and do not see the change.
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", "    legs = 2\n", "    legs = 3\n")

    assert repo.ids() == expect(BIRD_DESCRIBE, FEED)


def test_deleted_inherited_method_still_called(git_repo):
    # Bird and the TestAnimal/TestShelterDog instances call .describe(), which only
    # Animal defined.
    repo = git_repo("richpkg")
    repo.replace("zoo/animals.py", '    def describe(self):\n        return f"{self.nick} has {self.legs} legs"\n', "")

    assert repo.ids() == expect(BIRD_DESCRIBE, ANIMAL_DESCRIBE, SHELTER_DESCRIBE)


def test_decorator_change_reaches_decorated_function(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/deco.py", "return fn(*args)", "return fn(*args, **{})")

    assert repo.ids() == expect(FEED)


def test_decorated_function_change(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/feeding.py", 'return f"fed {animal.nick}"', 'return f"fed: {animal.nick}"')

    assert repo.ids() == expect(FEED)


def test_method_called_back_by_a_foreign_base_class(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/keeper.py", 'self.fed.append("rex")', 'self.fed.append("fido")')

    assert repo.ids() == expect("tests/test_keeper.py::test_keeper_runs")


def test_dataclass_field_default(git_repo):
    # Record.kg: the Record class (ration's in-function import, RecordTests.setUp, make)
    # and Record.is_heavy (self.kg).
    repo = git_repo("richpkg")
    repo.replace("zoo/records.py", "kg: float = 1.0", "kg: float = 2.0")

    assert repo.ids() == expect(RATION, RECORD_LABEL, RECORD_LIGHT, RECORD_MAKE)


def test_unittest_setup_change_selects_every_test_of_the_case(git_repo):
    repo = git_repo("richpkg")
    repo.replace("tests/test_records.py", 'Record("mouse", 0.1)', 'Record("mouse", 0.2)')

    assert repo.ids() == expect(RECORD_LABEL, RECORD_LIGHT)


def test_unittest_test_method_edit_selects_that_test_only(git_repo):
    repo = git_repo("richpkg")
    repo.replace("tests/test_records.py", "self.assertFalse(self.light.is_heavy())", "assert not self.light.is_heavy()")

    assert repo.ids() == expect(RECORD_LIGHT)


def test_inherited_test_method_selects_every_subclass_node_id(git_repo):
    repo = git_repo("richpkg")
    repo.replace("tests/test_animals.py", '("...", "woof", "tweet")', '("...", "woof", "tweet", "wuff")')

    assert repo.ids() == expect(ANIMAL_SOUND, SHELTER_SOUND)


def test_fixture_through_conftest_chain(git_repo):
    # dog (tests/conftest.py) <- kennel <- litter (tests/sub/conftest.py).
    repo = git_repo("richpkg")
    repo.replace("tests/conftest.py", 'Dog("rex", age=3)', 'Dog("rex", age=4)')

    assert repo.ids() == expect(DOG_SPEAKS, KENNEL, SHELTER_GREETS)


def test_fixture_defined_in_the_test_module(git_repo):
    repo = git_repo("richpkg")
    repo.replace("tests/test_util.py", 'return "Hi"', 'return "Hey"')

    assert repo.ids() == expect(SHOUT)


def test_autouse_fixture_selects_every_test_below_its_conftest(git_repo):
    repo = git_repo("richpkg")
    repo.replace(
        "tests/sub/conftest.py", 'monkeypatch.setenv("ZOO_QUIET", "yes")', 'monkeypatch.setenv("ZOO_QUIET", "yes!")'
    )

    assert repo.ids() == expect(SHELTER_SOUND, SHELTER_DESCRIBE, SHELTER_GREETS, SHELTER_QUIET)


def test_usefixtures_marker_on_a_class(git_repo):
    repo = git_repo("richpkg")
    repo.replace(
        "tests/conftest.py", "    yield CALLS\n", "    yield CALLS  # cleared around the test\n    assert True\n"
    )

    assert repo.ids() == expect(FEED, RATION)


def test_format_json_fixture_requesting_a_fixture(git_repo):
    # kennel(dog) is requested by test_kennel and by litter(kennel) in tests/sub.
    repo = git_repo("richpkg")
    repo.replace("tests/conftest.py", 'return [dog, Dog("fido")]', 'return [dog, Dog("fido", age=2)]')

    report = repo.select("--format", "json")

    assert report.code == 0
    data = report.json
    assert data["changed"] == [{"id": "tests.conftest:kennel", "cause": "modified", "path": "tests/conftest.py"}]
    assert data["run_all"] is None
    assert [t["nodeid"] for t in data["tests"]] == expect(KENNEL, SHELTER_GREETS)
    for test in data["tests"]:
        assert test["via"], test
        assert test["via"][0] == "tests.conftest:kennel"
    assert data["total_tests"] == 23


def test_comment_only_edits_select_nothing(git_repo):
    repo = git_repo("richpkg")
    repo.replace(
        "zoo/animals.py",
        '    def sound(self):\n        return "..."\n',
        '    def sound(self):\n        # the generic noise\n        return "..."  # silence\n',
    )
    repo.replace(
        "tests/conftest.py", "@pytest.fixture\ndef dog():", "# every test's dog\n@pytest.fixture\ndef dog():  # rex"
    )

    assert repo.ids() == []


def test_whitespace_only_edits_select_nothing(git_repo):
    repo = git_repo("richpkg")
    repo.replace("zoo/util.py", 'return text.upper() + "!"', 'return   text.upper()+"!"')
    repo.replace(
        "zoo/animals.py",
        "super().__init__(nick, age=0)",
        "super().__init__(\n            nick,\n            age=0\n        )",
    )
    repo.replace("zoo/config.py", "MAX_AGE = 30\n", "\n\nMAX_AGE   =   30\n\n")

    assert repo.ids() == []


def test_non_python_file_named_by_a_test(git_repo):
    repo = git_repo("richpkg")
    repo.write("tests/data/animals.csv", "name,legs\nrex,4\n")

    # ROWS, a module-level name of tests/test_data.py, names the file: module-level code
    # runs at import, so both tests of that module are selected (had it read the file
    # and failed, neither would run).
    assert repo.ids() == expect(DATA_ROWS, "tests/test_data.py::test_no_rows")


def test_pytest_ini_change_selects_every_test(git_repo):
    repo = git_repo("richpkg")
    repo.replace("pytest.ini", "testpaths = tests", "testpaths = tests\naddopts = -ra")

    assert repo.ids() == EVERY_TEST


def test_new_test_function_added(git_repo):
    repo = git_repo("richpkg")
    repo.replace(
        "tests/test_util.py", "def test_tidy():", "def test_new():\n    assert tidy(' x ') == 'x'\n\n\ndef test_tidy():"
    )

    assert repo.ids() == expect("tests/test_util.py::test_new")


def test_new_test_method_in_a_base_test_class_is_inherited(git_repo):
    repo = git_repo("richpkg")
    repo.replace(
        "tests/test_animals.py",
        "    def test_describe(self):",
        "    def test_legs(self):\n        assert self.make().legs == 4\n\n    def test_describe(self):",
    )

    assert repo.ids() == expect(
        "tests/test_animals.py::TestAnimal::test_legs", "tests/sub/test_shelter.py::TestShelterDog::test_legs"
    )


def test_test_edited(git_repo):
    repo = git_repo("richpkg")
    repo.replace("tests/test_animals.py", "assert len(kennel) == 2", "assert len(kennel) >= 2")

    assert repo.ids() == expect(KENNEL)


# -- the command line ---------------------------------------------------------------------


def test_second_run_with_a_warm_cache_selects_the_same(git_repo):
    # The cache lives in .impactsel_cache/ in the root and ignores itself in git, so it
    # is never a change of its own.
    repo = git_repo("srclayout")
    repo.replace("src/shop/cart.py", "self.lines = {}", "self.lines = dict()")

    first, second = repo.ids(), repo.ids()

    assert first == second == expect(IT_COUNTS, IT_TOTALS, TEST_RECEIPT)
    assert (repo.path / ".impactsel_cache").is_dir()
    assert repo.git("status", "--porcelain", "--untracked-files=all") == " M src/shop/cart.py\n"


def test_cli_subprocess_prints_ids(git_repo):
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a - b", "return -(b - a)")

    run = repo.run_cli("--since", "main")

    assert (run.code, run.out) == (0, "tests/check_core.py::check_sub\n")


def test_cli_changed_files_are_parsed_in_a_helper_process_meanwhile(git_repo):
    # The command has not loaded libcst: both versions of the changed module are parsed
    # in a helper process while this one reads the project; the same selection.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a - b", "return -(b - a)")

    run = repo.run_cli("--since", "main", "--jobs", "2", "--debug")
    again = repo.run_cli("--since", "main", "--jobs", "2", "--debug")

    assert (run.code, run.out) == (again.code, again.out) == (0, "tests/check_core.py::check_sub\n")
    assert "impactsel: a helper process parses 2 versions of changed files" in run.err.splitlines()
    assert "helper" not in again.err  # both versions are cached now


# Run impactsel in-process, then print which heavy modules this process loaded.
LOADED = (
    "import sys; from impactsel.cli import main; main(sys.argv[1:]); "
    "print(sorted({'libcst', 'networkx', 'impactsel.extract'} & set(sys.modules)))"
)


@pytest.mark.parametrize(
    "edit",
    [
        None,  # every version of the changed file is cached already
        ("return -(b - a)", "return -(-(a - b))"),  # a new version: the helper process parses it
    ],
)
def test_warm_run_loads_no_parser_in_its_own_process(git_repo, tmp_path, edit):
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a - b", "return -(b - a)")
    assert repo.run_cli("--since", "main").out == "tests/check_core.py::check_sub\n"  # fills the cache
    if edit is not None:
        repo.replace("calc/core.py", *edit)

    done = subprocess.run(
        [sys.executable, "-c", LOADED, "--since", "main", "--root", str(repo.path), "--jobs", "2"],
        cwd=tmp_path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.stdout == "tests/check_core.py::check_sub\n[]\n", done.stderr


def test_cli_under_a_profiler_exits_the_usual_way(git_repo, tmp_path):
    # The command skips Python's teardown, except under a profiler or coverage tracer,
    # which write their data at exit.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a - b", "return -(b - a)")
    profile = tmp_path / "run.prof"

    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "impactsel", "--since", "main"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (done.returncode, done.stdout) == (0, "tests/check_core.py::check_sub\n")
    assert profile.stat().st_size > 0


def test_cli_output_to_a_reader_that_stopped_ends_the_run_quietly(git_repo):
    # ``impactsel | head -0``: the reader is gone before the selection is written. The
    # process ends as ``cat`` would (killed by SIGPIPE), with no Python error on stderr.
    repo = git_repo("flat")
    repo.replace("calc/core.py", "return a - b", "return -(b - a)")

    child = subprocess.Popen(
        [sys.executable, "-m", "impactsel", "--since", "main"],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    child.stdout.close()  # before it writes: importing alone takes longer
    _, err = child.communicate(timeout=120)

    assert child.returncode == -signal.SIGPIPE
    assert re.fullmatch(r"impactsel: 1 changed symbols -> 1/6 tests \(base [0-9a-f]{12}, \d+\.\d+ s\)\n", err), err


def test_cli_not_a_git_repository(git_repo):
    plain = git_repo("flat", git=False)

    run = plain.run_cli("--since", "main")

    assert run.code == 2
    assert run.out == ""
    assert len(run.err.splitlines()) == 1
    assert run.err.startswith("impactsel: error:")


def test_cli_not_a_git_repository_with_root(git_repo):
    plain = git_repo("flat", git=False)

    run = plain.select()

    assert run.code == 2
    assert run.out == ""
    assert len(run.err.splitlines()) == 1
    assert run.err.startswith("impactsel: error:")


@pytest.mark.parametrize("revision", ["no-such-branch", "0123456789abcdef0123456789abcdef01234567"])
def test_cli_unknown_since_revision(git_repo, revision):
    repo = git_repo("flat")

    run = repo.run_cli("--since", revision)

    assert run.code == 2
    assert run.out == ""
    assert len(run.err.splitlines()) == 1
    assert run.err.startswith("impactsel: error:")


def test_flat_test_added_with_marks_selects_only_itself(git_repo):
    # Its marks run when the module is imported and can only fail its collection, which
    # the run of the new test shows: check_sub is not selected.
    repo = git_repo("flat")
    repo.write(
        "tests/check_core.py",
        repo.read("tests/check_core.py") + '\n\n@pytest.mark.skipif(sys.platform == "win32", reason="posix")\n'
        '@pytest.mark.parametrize(("a", "b"), [(1, 2), (3, 4)])\n'
        "def check_add_commutes(a, b):\n    assert add(a, b) == add(b, a)\n",
    )
    repo.replace("tests/check_core.py", "from calc.core import", "import sys\n\nimport pytest\n\nfrom calc.core import")
    repo.commit("imports for marks")
    repo.replace("tests/check_core.py", "[(1, 2), (3, 4)]", "[(1, 2), (3, 4), (5, 6)]")

    assert repo.ids() == expect("tests/check_core.py::check_add_commutes")


def test_flat_marks_that_no_selected_test_carries_select_their_module(git_repo):
    # A helper's default changes and no test calls the helper: nothing of the module would
    # run, so a failing collection would go unseen: every test of the module is selected.
    repo = git_repo("flat")
    repo.write(
        "tests/check_core.py", repo.read("tests/check_core.py") + "\n\ndef _pair(a=1, b=2):\n    return (a, b)\n"
    )
    repo.commit("a helper")
    repo.replace("tests/check_core.py", "def _pair(a=1, b=2)", "def _pair(a=1, b=3)")

    assert repo.ids() == expect(CHECK_ADD, "tests/check_core.py::check_sub")
