// The kernel side of the clip buttons of a hit table, a review table or a quote (an anywidget
// module). The table (plain HTML, see indexer/display/clips.py) looks up
// window.indexerClipSources[its id]; this registers that function: it asks the kernel for clip n
// and resolves with a URL of its bytes, or rejects with a line to show.
const WAIT_MS = 30000;  // no answer by then: the kernel that made the table is gone

export default {
  render({ model, el }) {
    const id = model.get("clips_id");
    const sources = (window.indexerClipSources = window.indexerClipSources || {});
    const pending = new Map();
    let next = 0;
    const onReply = (msg, buffers) => {
      const waiting = pending.get(msg.request);
      if (!waiting) return;
      pending.delete(msg.request);
      clearTimeout(waiting.timer);
      if (msg.ok && buffers && buffers.length) {
        const view = buffers[0];
        const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        waiting.resolve(URL.createObjectURL(new Blob([bytes], { type: msg.mime })));
      } else {
        waiting.reject(msg.error || "pas d'audio");
      }
    };
    model.on("msg:custom", onReply);
    sources[id] = (clip) => new Promise((resolve, reject) => {
      const request = ++next;
      const timer = setTimeout(() => {
        pending.delete(request);
        reject("le noyau ne répond pas : exécutez à nouveau la cellule");
      }, WAIT_MS);
      pending.set(request, { resolve, reject, timer });
      model.send({ kind: "clip", request, clip });
    });
    el.style.display = "none";  // nothing to show: the buttons are in the table
    return () => {
      model.off("msg:custom", onReply);
      if (sources[id]) delete sources[id];
    };
  },
};
