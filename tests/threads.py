"""Running test code in a thread with a small C stack, where a deep recursion (in
matcalc, in SymPy, or in Python's compiler on deeply nested code) would crash the
process rather than raise."""
import threading


def on_a_small_stack(work, stack: int = 2 * 1024 * 1024):
    """``work()`` in a thread with a ``stack``-byte C stack: its value, or its error
    raised again here."""
    box: dict = {}

    def run():
        try:
            box["value"] = work()
        except BaseException as err:  # noqa: BLE001 - raised again below
            box["error"] = err
    previous = threading.stack_size(stack)
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(previous)
    if "error" in box:
        raise box["error"]
    return box.get("value")
