import { describe, expect, it } from "vitest";
import { actsWhileTyping, isTextEntry, shortcutFor, SHORTCUTS } from "./shortcuts";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean; code: string }> = {}) => ({
  key: k,
  ctrlKey: true,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe("shortcutFor", () => {
  it("maps the documented combinations", () => {
    expect(shortcutFor(key("e"))).toBe("estop");
    expect(shortcutFor(key("S"))).toBe("sidebar");
    expect(shortcutFor(key("d"))).toBe("theme");
    expect(shortcutFor(key("?", { shiftKey: true }))).toBe("help");
    expect(shortcutFor(key("/", { shiftKey: true, code: "Slash" }))).toBe("help");
    expect(shortcutFor(key("r"))).toBe("recording");
    expect(shortcutFor(key("t"))).toBe("teleop");
  });

  it("ignores keys without Ctrl, with Alt, or unknown", () => {
    expect(shortcutFor(key("e", { ctrlKey: false }))).toBeNull();
    expect(shortcutFor(key("e", { altKey: true }))).toBeNull();
    expect(shortcutFor(key("x"))).toBeNull();
    expect(shortcutFor(key("/"))).toBeNull();
  });
});

describe("isTextEntry", () => {
  it("is true for text inputs and textareas only", () => {
    const text = document.createElement("input");
    const box = document.createElement("input");
    box.type = "checkbox";
    expect(isTextEntry(text)).toBe(true);
    expect(isTextEntry(document.createElement("textarea"))).toBe(true);
    expect(isTextEntry(box)).toBe(false);
    expect(isTextEntry(document.createElement("button"))).toBe(false);
    expect(isTextEntry(null)).toBe(false);
  });
});

describe("shortcuts while typing", () => {
  it("the e-stop and Ctrl+R act in a text field (Ctrl+R would reload the page), the rest do not", () => {
    expect(actsWhileTyping("estop")).toBe(true);
    expect(actsWhileTyping("recording")).toBe(true);
    expect(actsWhileTyping("sidebar")).toBe(false);
    expect(actsWhileTyping("theme")).toBe(false);
  });

  it("recording is a working shortcut, not a coming one", () => {
    expect(SHORTCUTS.find((s) => s.action === "recording")?.coming).toBeFalsy();
  });
});
