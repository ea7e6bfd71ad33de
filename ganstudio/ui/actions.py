"""The window's QActions and menus (File, Edit, Image, Layer, Select, Filters/AI, View, Help),
the tool bars, and the rules that enable / disable the actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from .theme import icon

if TYPE_CHECKING:
    from .window_api import ActionsHost as MainWindow

K = QKeySequence.StandardKey

# name: (text, shortcut(s), icon, handler method, tooltip)
ACTIONS: dict[str, tuple] = {
    "file_new": ("&New…", [K.New], "new", "new_document_dialog", "Create a new image"),
    "file_open": ("&Open…", [K.Open], "open", "open_dialog", "Open images or .ora projects"),
    "file_save": ("&Save", ["Ctrl+S"], "save", "save", "Save the project (.ora)"),
    "file_save_as": ("Save &As…", ["Ctrl+Shift+S"], "", "save_as", "Save the project under a new name"),
    "file_export": ("&Export…", ["Ctrl+E"], "export", "export_dialog",
                    "Export as PNG, JPEG, WebP, TIFF, BMP or layered .ora"),
    "file_close": ("&Close", ["Ctrl+W"], "", "close_document", "Close this image"),
    "file_quit": ("&Quit", ["Ctrl+Q"], "", "close", "Quit GAN Studio"),
    "edit_undo": ("&Undo", ["Ctrl+Z"], "undo", "undo", "Undo"),
    "edit_redo": ("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "redo", "redo", "Redo"),
    "edit_fill": ("&Fill with brush colour", ["Shift+F5"], "", "fill",
                  "Fill the selection (or the layer) with the brush colour / label"),
    "edit_clear": ("C&lear", ["Delete"], "", "clear", "Clear the selection (or the layer) to transparency"),
    "edit_cut": ("Cu&t", [K.Cut], "", "cut", "Cut the selection of the active layer to the clipboard"),
    "edit_copy": ("&Copy", [K.Copy], "", "copy", "Copy the selection of the active layer"),
    "edit_copy_merged": ("Copy &merged", ["Ctrl+Shift+C"], "", "copy_merged",
                         "Copy the selection of every visible layer (what you see)"),
    "edit_paste": ("&Paste as new layer", [K.Paste], "", "paste",
                   "Paste as a new layer: at its place, or centred in the view"),
    "edit_paste_new": ("Paste as new &image", ["Ctrl+Alt+V"], "", "paste_as_new_image",
                       "Open the clipboard's image as a new document"),
    "file_open_layers": ("Open as &layers…", ["Ctrl+Alt+O"], "", "open_as_layers_dialog",
                         "Add image files as layers of this image"),
    "edit_preferences": ("&Preferences…", ["Ctrl+,"], "", "preferences_dialog", "Preferences"),
    "image_canvas_size": ("&Canvas size…", ["Ctrl+Alt+C"], "", "canvas_size_dialog",
                          "Change the canvas size without scaling"),
    "image_size": ("&Image size…", ["Ctrl+Alt+I"], "", "image_size_dialog", "Resample the image"),
    "image_crop": ("C&rop to selection", [], "", "crop_to_selection", "Crop to the selection's bounds"),
    "image_flatten": ("&Flatten image", [], "", "flatten", "Merge every layer into one"),
    "image_rotate_cw": ("Rotate 90° &clockwise", [], "", "rotate_image_cw", "Turn the whole image right"),
    "image_rotate_ccw": ("Rotate 90° counter-clock&wise", [], "", "rotate_image_ccw",
                         "Turn the whole image left"),
    "image_rotate_180": ("Rotate &180°", [], "", "rotate_image_180", "Turn the whole image upside down"),
    "image_flip_h": ("Flip &horizontally", [], "", "flip_image_horizontal", "Mirror the whole image left-right"),
    "image_flip_v": ("Flip &vertically", [], "", "flip_image_vertical", "Mirror the whole image top-bottom"),
    "image_crop_tool": ("Crop &tool", [], "crop", "crop_tool", "Drag the area to keep; Enter crops (C)"),
    "adjust_levels": ("&Levels…", ["Ctrl+L"], "", "levels_dialog", "Input / output levels and gamma"),
    "adjust_curves": ("&Curves…", ["Ctrl+M"], "", "curves_dialog", "Tone curves per channel"),
    "adjust_hue_saturation": ("&Hue / Saturation…", ["Ctrl+U"], "", "hue_saturation_dialog",
                              "Shift hues, change saturation and lightness"),
    "adjust_brightness_contrast": ("&Brightness / Contrast…", [], "", "brightness_contrast_dialog",
                                   "Brightness and contrast"),
    "filter_gaussian_blur": ("&Gaussian blur…", [], "", "gaussian_blur_dialog", "Blur (premultiplied alpha)"),
    "filter_unsharp_mask": ("&Unsharp mask…", [], "", "unsharp_mask_dialog", "Sharpen edges"),
    "layer_rotate_cw": ("Rotate layer 90° &clockwise", [], "", "rotate_layer_cw", "Turn the active layer right"),
    "layer_rotate_ccw": ("Rotate layer 90° counter-clock&wise", [], "", "rotate_layer_ccw",
                         "Turn the active layer left"),
    "layer_rotate_180": ("Rotate layer &180°", [], "", "rotate_layer_180", "Turn the active layer upside down"),
    "layer_flip_h": ("Flip layer &horizontally", [], "", "flip_layer_horizontal", "Mirror the active layer left-right"),
    "layer_flip_v": ("Flip layer &vertically", [], "", "flip_layer_vertical", "Mirror the active layer top-bottom"),
    "layer_free_transform": ("&Free transform", ["Ctrl+T"], "transform", "free_transform",
                             "Scale / rotate / move the active layer with handles; Enter applies"),
    "layer_new": ("&New layer", ["Ctrl+Shift+N"], "layer_add", "new_layer", "Add a transparent layer"),
    "layer_new_label": ("New &label layer", [], "", "new_label_layer",
                        "Add a label layer (class map for scene painting)"),
    "layer_duplicate": ("&Duplicate layer", ["Ctrl+J"], "layer_duplicate", "duplicate_layer",
                        "Duplicate the active layer"),
    "layer_delete": ("De&lete layer", [], "layer_delete", "delete_layer", "Delete the active layer"),
    "layer_new_group": ("New &group", [], "layer_group", "new_group", "Add an empty layer group"),
    "layer_group": ("&Group layers", ["Ctrl+G"], "", "group_layers",
                    "Put the selected layers into a new group"),
    "layer_ungroup": ("&Ungroup", ["Ctrl+Shift+G"], "", "ungroup",
                      "Move the group's layers out of it and delete the group"),
    "layer_merge_group": ("Merge gro&up", [], "", "merge_group",
                          "Flatten the group into one layer"),
    "layer_merge_down": ("&Merge down", ["Ctrl+Alt+E"], "layer_merge", "merge_down",
                         "Merge the active layer into the one below"),
    "layer_raise": ("&Raise layer", ["Ctrl+]"], "", "raise_layer", "Move the active layer up"),
    "layer_lower": ("L&ower layer", ["Ctrl+["], "", "lower_layer", "Move the active layer down"),
    "layer_add_mask": ("&Add layer mask", [], "layer_mask", "add_mask",
                       "Add a mask (white: shown) to the active layer"),
    "layer_mask_from_selection": ("Add mask from &selection", [], "", "add_mask_from_selection",
                                  "Add a mask that shows only the selection"),
    "layer_apply_mask": ("A&pply layer mask", [], "", "apply_mask", "Bake the mask into the pixels"),
    "layer_remove_mask": ("Remo&ve layer mask", [], "", "remove_mask", "Delete the layer mask"),
    "layer_properties": ("&Properties…", [], "", "layer_properties_dialog",
                         "Name, opacity, blend mode, visibility, lock"),
    "select_all": ("Select &all", [K.SelectAll], "", "select_all", "Select everything"),
    "select_none": ("Select &none", ["Ctrl+Shift+A", "Ctrl+D"], "", "select_none", "Deselect"),
    "select_invert": ("&Invert selection", ["Ctrl+I"], "", "select_invert", "Invert the selection"),
    "select_feather": ("&Feather…", ["Shift+F6"], "", "select_feather", "Soften the selection edge"),
    "select_grow": ("&Grow…", [], "", "select_grow", "Grow the selection"),
    "select_shrink": ("&Shrink…", [], "", "select_shrink", "Shrink the selection"),
    "select_to_ai_mask": ("Selection to AI &mask", [], "", "selection_to_ai_mask",
                          "Use the selection as the mask of AI tools"),
    "select_clear_ai_mask": ("&Clear AI mask", [], "", "clear_ai_mask", "Remove the painted AI mask"),
    "view_zoom_in": ("Zoom &in", ["Ctrl++", "Ctrl+="], "zoom_in", "zoom_in", "Zoom in"),
    "view_zoom_out": ("Zoom &out", ["Ctrl+-"], "zoom_out", "zoom_out", "Zoom out"),
    "view_fit": ("&Fit in window", ["Ctrl+0"], "fit", "zoom_fit", "Fit the image in the window"),
    "view_100": ("&Actual pixels (100%)", ["Ctrl+1"], "zoom_100", "zoom_100", "Zoom to 100%"),
    "compare_toggle": ("Compare: show &before", ["\\"], "compare", "toggle_compare",
                       "Show the image without the active AI layer (before / after)"),
    "compare_split": ("Compare: &split view", ["Ctrl+\\"], "split", "toggle_split",
                      "Before on the left, after on the right; drag the divider"),
    "help_shortcuts": ("&Keyboard shortcuts", ["F1"], "", "shortcuts_dialog", "List of shortcuts"),
    "help_about": ("&About GAN Studio", [], "", "about", "About"),
}
CHECKABLE = {"compare_toggle", "compare_split"}

MENUS = {
    "&File": ["file_new", "file_open", "@recent", "file_open_layers", "-", "file_save", "file_save_as", "file_export", "-",
              "file_close", "file_quit"],
    "&Edit": ["edit_undo", "edit_redo", "-", "edit_cut", "edit_copy", "edit_copy_merged", "edit_paste",
              "edit_paste_new", "-", "edit_fill", "edit_clear", "-", "edit_preferences"],
    "&Image": ["image_canvas_size", "image_size", "image_crop", "image_crop_tool", "-",
               "&Transform/image_rotate_cw", "&Transform/image_rotate_ccw", "&Transform/image_rotate_180",
               "&Transform/-", "&Transform/image_flip_h", "&Transform/image_flip_v",
               "&Adjustments/adjust_levels", "&Adjustments/adjust_curves",
               "&Adjustments/adjust_hue_saturation", "&Adjustments/adjust_brightness_contrast", "-",
               "image_flatten"],
    "&Layer": ["layer_new", "layer_new_label", "layer_duplicate", "layer_delete", "-", "layer_raise",
               "layer_lower", "layer_merge_down", "-", "layer_new_group", "layer_group", "layer_ungroup",
               "layer_merge_group", "-", "layer_add_mask", "layer_mask_from_selection",
               "layer_apply_mask", "layer_remove_mask", "-", "&Transform/layer_free_transform",
               "&Transform/-", "&Transform/layer_rotate_cw", "&Transform/layer_rotate_ccw",
               "&Transform/layer_rotate_180", "&Transform/-", "&Transform/layer_flip_h",
               "&Transform/layer_flip_v", "-", "layer_properties"],
    "&Select": ["select_all", "select_none", "select_invert", "-", "tool_wand", "tool_color_select",
                "-", "select_feather", "select_grow",
                "select_shrink", "-", "select_to_ai_mask", "select_clear_ai_mask"],
    "Filte&rs": ["&Blur/filter_gaussian_blur", "&Sharpen/filter_unsharp_mask"],
    "&View": ["view_zoom_in", "view_zoom_out", "view_fit", "view_100", "-", "compare_toggle",
              "compare_split", "-", "@tools", "-", "@panels"],
    "&Help": ["help_shortcuts", "help_about"],
}
MENU_KEYS = {"File": "&File", "Edit": "&Edit", "Image": "&Image", "Layer": "&Layer",
             "Select": "&Select", "Filters": "Filte&rs", "View": "&View", "Help": "&Help"}

MAIN_TOOLBAR = ["file_new", "file_open", "file_save", "file_export", "-", "edit_undo", "edit_redo", "-",
                "view_zoom_out", "view_zoom_in", "view_fit", "view_100", "-", "compare_toggle",
                "compare_split"]


def build(window: MainWindow) -> None:
    acts = window.qactions
    for name, (text, keys, icon_name, handler, tip) in ACTIONS.items():
        act = QAction(text, window)
        act.setObjectName(name)
        if keys:
            act.setShortcuts([QKeySequence(k) for k in keys])
        if icon_name:
            act.setIcon(icon(icon_name))
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.setCheckable(name in CHECKABLE)
        method = getattr(window, handler)
        if name in CHECKABLE:
            act.toggled.connect(method)
        else:
            act.triggered.connect(lambda _checked=False, m=method: m())
        acts[name] = act
    acts["file_quit"].setMenuRole(QAction.MenuRole.QuitRole)
    acts["edit_preferences"].setMenuRole(QAction.MenuRole.PreferencesRole)
    acts["help_about"].setMenuRole(QAction.MenuRole.AboutRole)

    # tools: an exclusive group, single-key shortcuts
    group = QActionGroup(window)
    group.setExclusive(True)
    for tool in window.tools.tools.values():
        _tool_action(window, group, tool)
    acts[f"tool_{window.tools.current.name}"].setChecked(True)
    window.tools.tool_changed.connect(lambda n: acts[f"tool_{n}"].setChecked(True))
    for name, text, key, delta in (("brush_smaller", "Smaller brush", "[", -1),
                                   ("brush_bigger", "Bigger brush", "]", 1)):
        act = QAction(text, window)
        act.setObjectName(name)
        act.setShortcut(QKeySequence(key))
        act.triggered.connect(lambda _c=False, d=delta: window.change_brush_size(d))
        acts[name] = act

    bar = window.menuBar()
    for title, items in MENUS.items():
        menu = bar.addMenu(title)
        window.menus[title.replace("&", "")] = menu
        for item in items:
            if item == "-":
                menu.addSeparator()
            elif item == "@recent":
                window.recent_menu = menu.addMenu("Open &Recent")
            elif item == "@tools":
                tools_menu = menu.addMenu("&Tools")
                window.tools_menu = tools_menu
                for tool in window.tools.tools.values():
                    tools_menu.addAction(acts[f"tool_{tool.name}"])
                tools_menu.addSeparator()
                tools_menu.addAction(acts["brush_smaller"])
                tools_menu.addAction(acts["brush_bigger"])
            elif "/" in item:
                # "Submenu title/action" (or "/-"): the submenu is made on first use
                sub_title, sub_item = item.split("/", 1)
                sub = next((x.menu() for x in menu.actions() if x.menu() is not None
                            and x.menu().title() == sub_title), None) or menu.addMenu(sub_title)
                sub.addSeparator() if sub_item == "-" else sub.addAction(acts[sub_item])
            elif item == "@panels":
                window.panels_menu = menu.addMenu("&Panels")
            else:
                menu.addAction(acts[item])

    tb = QToolBar("Main")
    tb.setObjectName("main_toolbar")
    tb.setIconSize(QSize(20, 20))
    tb.setMovable(False)
    for item in MAIN_TOOLBAR:
        if item == "-":
            tb.addSeparator()
        else:
            tb.addAction(acts[item])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    window.main_toolbar = tb

    tools_bar = QToolBar("Tools")
    tools_bar.setObjectName("tools")
    tools_bar.setIconSize(QSize(22, 22))
    tools_bar.setOrientation(Qt.Orientation.Vertical)
    tools_bar.setMovable(False)
    for tool in window.tools.tools.values():
        tools_bar.addAction(acts[f"tool_{tool.name}"])
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools_bar)
    window.tools_toolbar = tools_bar

    def tool_added(tool) -> None:  # noqa: ANN001 - a task UI registered its own tool
        act = _tool_action(window, group, tool)
        tools_bar.addAction(act)
        menu = getattr(window, "tools_menu", None)
        if menu is not None:
            first = next((a for a in menu.actions() if a.isSeparator()), None)
            menu.insertAction(first, act) if first is not None else menu.addAction(act)
        act.setEnabled(window.document is not None)

    window.tools.tool_added.connect(tool_added)


def _tool_action(window: MainWindow, group: QActionGroup, tool) -> QAction:  # noqa: ANN001
    act = QAction(icon(tool.icon), tool.title, window)
    act.setObjectName(f"tool_{tool.name}")
    act.setCheckable(True)
    if tool.shortcut:
        act.setShortcut(QKeySequence(tool.shortcut))
        act.setToolTip(f"{tool.title} ({tool.shortcut}): {tool.tooltip}")
    else:
        act.setToolTip(f"{tool.title}: {tool.tooltip}")
    act.triggered.connect(lambda _c=False, n=tool.name: window.tools.select(n))
    group.addAction(act)
    window.qactions[f"tool_{tool.name}"] = act
    return act


def update(window: MainWindow) -> None:
    """Enable / disable every action from the state of the active document."""
    a = window.qactions
    doc = window.document
    has = doc is not None
    layer = doc.active_layer if has else None
    n_layers = len(doc.layers) if has else 0
    sel = has and doc.selection is not None
    hist = doc.history if has else None
    for name in ("file_save", "file_save_as", "file_export", "file_close", "edit_preferences"):
        a[name].setEnabled(has or name == "edit_preferences")
    can_undo = hist is not None and hist.can_undo()
    can_redo = hist is not None and hist.can_redo()
    a["edit_undo"].setEnabled(can_undo)
    a["edit_redo"].setEnabled(can_redo)
    a["edit_undo"].setText(f"&Undo {hist.undo_label}" if can_undo else "&Undo")
    a["edit_redo"].setText(f"&Redo {hist.redo_label}" if can_redo else "&Redo")
    editable = layer is not None and not layer.locked
    a["edit_fill"].setEnabled(editable)
    a["edit_clear"].setEnabled(editable and hasattr(layer, "pixels") or (editable and hasattr(layer, "labels")))
    for name in ("image_canvas_size", "image_size", "view_zoom_in", "view_zoom_out", "view_fit",
                 "view_100", "layer_new", "layer_new_label", "select_all", "select_invert"):
        a[name].setEnabled(has)
    a["image_crop"].setEnabled(sel)
    a["edit_copy_merged"].setEnabled(has)
    a["edit_copy"].setEnabled(has and getattr(doc, "active_node", layer) is not None)
    a["edit_cut"].setEnabled(editable)
    a["file_open_layers"].setEnabled(has)
    for name in ("image_rotate_cw", "image_rotate_ccw", "image_rotate_180", "image_flip_h",
                 "image_flip_v", "image_crop_tool"):
        a[name].setEnabled(has)
    raster = editable and hasattr(layer, "pixels")
    for name in ("adjust_levels", "adjust_curves", "adjust_hue_saturation",
                 "adjust_brightness_contrast", "filter_gaussian_blur", "filter_unsharp_mask"):
        a[name].setEnabled(raster)
    for name in ("layer_rotate_cw", "layer_rotate_ccw", "layer_rotate_180", "layer_flip_h",
                 "layer_flip_v", "layer_free_transform"):
        a[name].setEnabled(editable)
    a["image_flatten"].setEnabled(n_layers > 1 or (n_layers == 1 and layer is not None and (
        layer.mask is not None or layer.offset != (0, 0) or layer.opacity < 1)))
    node = getattr(doc, "active_node", layer) if has else None   # a layer or a layer group
    group = node is not None and node.is_group
    a["layer_duplicate"].setEnabled(node is not None)
    inside = sum(1 for _ in node.leaves()) if group else 1   # paint layers that would go
    a["layer_delete"].setEnabled(node is not None and (n_layers > inside or (group and inside == 0)))
    parent, pos = doc.position_of(node) if node is not None else (None, -1)
    siblings = doc.children_of(parent) if node is not None else []
    n_siblings = len(siblings)
    below = siblings[pos - 1] if layer is not None and pos > 0 else None   # merge stays in its group
    a["layer_merge_down"].setEnabled((below is not None and not below.is_group)
                                     or (group and node.bounds.w > 0))
    a["layer_raise"].setEnabled(node is not None and (pos < n_siblings - 1 or parent is not None))
    a["layer_lower"].setEnabled(node is not None and (pos > 0 or parent is not None))
    a["layer_new_group"].setEnabled(has)
    a["layer_group"].setEnabled(node is not None)
    a["layer_ungroup"].setEnabled(group)
    a["layer_merge_group"].setEnabled(group and node.bounds.w > 0)
    no_mask = layer is not None and layer.mask is None
    a["layer_add_mask"].setEnabled(no_mask)
    a["layer_mask_from_selection"].setEnabled(no_mask and sel)
    a["layer_apply_mask"].setEnabled(layer is not None and layer.mask is not None and not layer.locked)
    a["layer_remove_mask"].setEnabled(layer is not None and layer.mask is not None)
    a["layer_properties"].setEnabled(node is not None)
    for name in ("select_none", "select_feather", "select_grow", "select_shrink", "select_to_ai_mask"):
        a[name].setEnabled(sel)
    a["select_clear_ai_mask"].setEnabled(has and getattr(doc, "ai_mask", None) is not None)
    ai_layer = layer is not None and bool(layer.provenance)
    for name in ("compare_toggle", "compare_split"):
        a[name].setEnabled(ai_layer)
        if not ai_layer and a[name].isChecked():
            a[name].setChecked(False)
    for t in window.tools.tools:
        a[f"tool_{t}"].setEnabled(has)
    a["brush_smaller"].setEnabled(has)
    a["brush_bigger"].setEnabled(has)
