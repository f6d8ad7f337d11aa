// The records table's bulk form: "select the page" ticks every row, the count follows
// the ticks, and only the fields of the chosen action are shown (all work without it).
(function () {
  const form = document.getElementById("bulk");
  if (!form) return;
  const rows = Array.from(document.querySelectorAll('input[name="id"][form="bulk"]'));
  const page = document.getElementById("pick-page");
  const count = document.getElementById("picked-count");
  const rowsScope = form.querySelector('input[name="scope"][value="rows"]');
  const update = () => {
    const ticked = rows.filter((box) => box.checked).length;
    count.textContent = String(ticked);
    if (page) {
      page.checked = ticked > 0 && ticked === rows.length;
      page.indeterminate = ticked > 0 && ticked < rows.length;
    }
  };
  rows.forEach((box) =>
    box.addEventListener("change", () => {
      if (box.checked) rowsScope.checked = true;
      update();
    }),
  );
  if (page) {
    page.hidden = false;
    page.addEventListener("change", () => {
      rows.forEach((box) => (box.checked = page.checked));
      if (page.checked) rowsScope.checked = true;
      update();
    });
  }
  const action = document.getElementById("bulk-action");
  const show = () => {
    form.querySelectorAll(".for-exclude, .for-tag, .for-export").forEach((label) => {
      label.hidden = !label.classList.contains(`for-${action.value}`);
    });
  };
  action.addEventListener("change", show);
  show();
  update();
})();
