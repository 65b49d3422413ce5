// The kernel side of the player's "add to basket" button (an anywidget module).
// The player (plain HTML) looks up window.indexerPlayerBridges[its id]; this
// registers that function and forwards each request to Python with model.send.
export default {
  render({ model, el }) {
    const id = model.get("player_id");
    const bridges = (window.indexerPlayerBridges = window.indexerPlayerBridges || {});
    const pending = new Map();
    let next = 0;
    const label = document.createElement("small");
    label.className = "indexer-basket-status";
    const show = () => { label.textContent = "panier : " + model.get("count") + " citation(s)"; };
    show();
    el.appendChild(label);
    model.on("change:count", show);
    const onReply = (msg) => {
      const resolve = pending.get(msg.request);
      if (resolve) { pending.delete(msg.request); resolve(msg); }
    };
    model.on("msg:custom", onReply);
    bridges[id] = (quote) => new Promise((resolve) => {
      const request = ++next;
      pending.set(request, resolve);
      model.send({ kind: "add", request, episode: quote.episode, start: quote.start, end: quote.end });
    });
    window.dispatchEvent(new CustomEvent("indexer-player-bridge", { detail: id }));
    return () => {
      model.off("msg:custom", onReply);
      if (bridges[id]) delete bridges[id];
    };
  },
};
