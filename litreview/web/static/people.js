// Copy buttons of the one-time links: the button names the input that holds the link.
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const input = document.getElementById(button.dataset.copy);
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = "Copied";
    } catch (_error) {
      button.textContent = "Press Ctrl+C";
    }
  });
});
