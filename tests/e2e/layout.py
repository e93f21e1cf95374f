"""What makes a page usable on a screen, measured in the browser: nothing wider than the window, every
control big enough to tap and inside the window, and tables either inside a box that scrolls on its own
or laid out as cards. `layout_problems` says what is wrong, in words, for the test's assertion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Viewport:
    """A screen a page must work on: most merchants run their shop from a phone."""

    name: str
    width: int
    height: int
    is_mobile: bool = False
    has_touch: bool = False

    @property
    def phone(self) -> bool:
        return self.is_mobile


DESKTOP = Viewport("desktop", 1280, 800)
PHONE = Viewport("phone", 390, 844, is_mobile=True, has_touch=True)  # an iPhone 12-14 sized screen


SMALLEST_TAP = 40  # px: a finger needs about 9 mm; Apple asks for 44 pt, Material for 48 dp

MEASURE = """
({smallest, touch}) => {
  const problems = [];
  const width = window.innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth > width) problems.push(`the page is ${root.scrollWidth}px wide in a ${width}px window`);
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const inScroller = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) if (scrolls(up)) return true;
    return false;
  };
  const name = (el) => {
    const words = (el.innerText || el.value || el.name || "").trim().slice(0, 30);
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${words}"`;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  for (const table of document.querySelectorAll("table")) {
    const r = table.getBoundingClientRect();
    const ownBox = scrolls(table) || inScroller(table);
    if (r.right > width + 1 && !ownBox) {
      problems.push(`${name(table)} sticks out of the window (right edge at ${Math.round(r.right)}px)`);
    }
    if (table.scrollWidth > table.clientWidth + 1 && !ownBox) {
      problems.push(`${name(table)} is wider than its box and does not scroll`);
    }
  }
  // On a touch screen the links of the menu and of lists are tapped too; on a desktop they are clicked.
  const controls = "button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea"
    + (touch ? ", header a, td a, .card a" : "");
  for (const el of document.querySelectorAll(controls)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.height < smallest) problems.push(`${name(el)} is ${Math.round(r.height)}px high, under ${smallest}px`);
    const outside = r.left < 0 || r.right > width + 1;
    if (outside && !(el.tagName === "A" && inScroller(el))) {
      problems.push(`${name(el)} is outside the window (${Math.round(r.left)} to ${Math.round(r.right)}px)`);
    }
  }
  for (const box of document.querySelectorAll("input[type=checkbox]")) {
    const label = box.closest("label");
    if (shown(box) && (!label || label.getBoundingClientRect().height < smallest)) {
      problems.push(`the checkbox ${name(box)} has no label ${smallest}px high to tap`);
    }
  }
  return problems;
}
"""


async def layout_problems(page: Any, viewport: Viewport) -> list[str]:
    """What keeps the page open in `page` from being used on `viewport` (empty: nothing). Buttons, fields
    and menus must be at least SMALLEST_TAP high and inside the window; on a touch screen, links in the
    menu, lists and cards too (a link may be in a table that scrolls sideways; a button may not)."""
    return await page.evaluate(MEASURE, {"smallest": SMALLEST_TAP, "touch": viewport.has_touch})
