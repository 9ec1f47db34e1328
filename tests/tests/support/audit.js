// An accessibility audit of the page as the browser drew it: the checks that axe-core rates
// serious or critical, written out so that the tests need nothing from outside. Returns one
// sentence per violation (empty: none).
const problems = [];
const visible = (el) => {
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return style.display !== "none" && style.visibility !== "hidden" && (box.width > 0 || box.height > 0);
};
const describe = (el) => {
  const id = el.id ? "#" + el.id : "";
  const name = el.getAttribute("name") ? "[name=" + el.getAttribute("name") + "]" : "";
  return el.tagName.toLowerCase() + id + name;
};
const textOf = (el) => (el ? (el.textContent || "").trim() : "");
const referenced = (el, attribute) =>
  (el.getAttribute(attribute) || "")
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => document.getElementById(id));
const accessibleName = (el) => {
  const label = (el.getAttribute("aria-label") || "").trim();
  if (label) return label;
  const by = referenced(el, "aria-labelledby").map(textOf).join(" ").trim();
  if (by) return by;
  if (el.id) {
    const labels = Array.from(document.querySelectorAll("label")).filter((l) => l.htmlFor === el.id);
    const text = labels.map(textOf).join(" ").trim();
    if (text) return text;
  }
  const wrapping = el.closest("label");
  if (wrapping && textOf(wrapping)) return textOf(wrapping);
  if (el.tagName === "IMG") return (el.getAttribute("alt") || "").trim();
  if (el.tagName === "svg") {
    const title = el.querySelector(":scope > title");
    return textOf(title);
  }
  if (["BUTTON", "A", "SUMMARY", "OPTION"].includes(el.tagName)) return textOf(el);
  if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return (el.value || "").trim();
  return (el.getAttribute("title") || "").trim();
};

if (!(document.documentElement.getAttribute("lang") || "").trim()) problems.push("html-has-lang: the page has no lang");
if (!document.title.trim()) problems.push("document-title: the page has no title");
if (!document.querySelector("main")) problems.push("landmark: the page has no main");
if (!document.querySelector("h1")) problems.push("page-has-heading-one: the page has no h1");

const ids = new Map();
for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
for (const [id, count] of ids) if (count > 1) problems.push("duplicate-id: #" + id + " is used " + count + " times");

for (const el of document.querySelectorAll("[aria-labelledby], [aria-describedby]")) {
  for (const attribute of ["aria-labelledby", "aria-describedby"]) {
    for (const [i, target] of referenced(el, attribute).entries()) {
      if (!target) problems.push("aria-valid-attr-value: " + describe(el) + " " + attribute + " names a missing element (" + i + ")");
    }
  }
}

for (const el of document.querySelectorAll("input, select, textarea")) {
  if (el.type === "hidden") continue;
  if (!accessibleName(el)) problems.push("label: " + describe(el) + " has no label");
}
for (const el of document.querySelectorAll("button, [role=button]")) {
  if (!accessibleName(el)) problems.push("button-name: " + describe(el) + " has no name");
}
for (const el of document.querySelectorAll("a[href]")) {
  if (!accessibleName(el)) problems.push("link-name: " + describe(el) + " has no text");
}
for (const el of document.querySelectorAll("img")) {
  if (!el.hasAttribute("alt")) problems.push("image-alt: " + describe(el) + " has no alt");
}
for (const el of document.querySelectorAll("svg[role=img]")) {
  if (!accessibleName(el)) problems.push("svg-img-alt: " + describe(el) + " has no name");
}
for (const el of document.querySelectorAll("select")) {
  if (el.options.length === 0) problems.push("select: " + describe(el) + " has no option");
}

// Colour contrast (WCAG AA): 4.5:1, or 3:1 for large text, against the first opaque
// background up the tree.
const rgba = (text) => {
  const parts = (text.match(/[\d.]+/g) || []).map(Number);
  return { r: parts[0] || 0, g: parts[1] || 0, b: parts[2] || 0, a: parts.length > 3 ? parts[3] : 1 };
};
const luminance = ({ r, g, b }) => {
  const channel = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
};
const backgroundOf = (el) => {
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.backgroundImage && style.backgroundImage !== "none") return null;
    const color = rgba(style.backgroundColor);
    if (color.a >= 1) return color;
  }
  return { r: 255, g: 255, b: 255, a: 1 };
};
for (const el of document.body.querySelectorAll("*")) {
  if (["SCRIPT", "STYLE", "svg", "OPTION"].includes(el.tagName) || el.closest("svg")) continue;
  const ownText = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!ownText || !visible(el) || el.closest(".visually-hidden")) continue;
  const style = getComputedStyle(el);
  const background = backgroundOf(el);
  if (!background) continue;
  const fg = rgba(style.color);
  const [light, dark] = [luminance(fg), luminance(background)].sort((a, b) => b - a);
  const ratio = (light + 0.05) / (dark + 0.05);
  const size = parseFloat(style.fontSize);
  const bold = parseInt(style.fontWeight, 10) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  const needed = large ? 3 : 4.5;
  if (ratio < needed) {
    problems.push("color-contrast: " + describe(el) + " \"" + textOf(el).slice(0, 40) + "\" has " + ratio.toFixed(2) + ":1, needs " + needed + ":1");
  }
}
return problems;
