// The gallery's only script: live progress, live tiles, and the next page of the grid when the
// end of the grid scrolls into view. Without it every page still works (links and forms).

async function fragment(url) {
  const res = await fetch(url, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${res.status} ${url}`);
  const template = document.createElement('template');
  template.innerHTML = await res.text();
  return template.content;
}

function refreshProgress() {
  const box = document.getElementById('progress');
  if (!box || box.dataset.done === '1') return;
  fragment(box.dataset.refresh)
    .then((content) => {
      const next = content.getElementById('progress');
      if (next) box.replaceWith(next);
    })
    .catch(() => undefined);
}

// Tiles of unfinished jobs are fetched again (up to 100 at a time) until they end.
function refreshTiles() {
  const grid = document.getElementById('grid');
  if (!grid) return;
  const pending = [...grid.querySelectorAll('.tile[data-pending]')].slice(0, 100);
  if (pending.length === 0) return;
  const indexes = pending.map((tile) => tile.dataset.index).join(',');
  fragment(`${grid.dataset.tiles}?indexes=${indexes}`)
    .then((content) => {
      for (const next of content.querySelectorAll('.tile')) {
        const current = document.getElementById(next.id);
        if (current && current.className !== next.className) current.replaceWith(next);
      }
    })
    .catch(() => undefined);
}

// Infinite scroll: the "more…" link loads the next page into the grid when it becomes visible.
function watchMore() {
  const more = document.querySelector('#grid a.more');
  if (!more || !('IntersectionObserver' in window)) return;
  const observer = new IntersectionObserver(
    (entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      observer.disconnect();
      fragment(more.dataset.more)
        .then((content) => {
          more.replaceWith(content);
          watchMore();
        })
        .catch(() => undefined);
    },
    { rootMargin: '600px' },
  );
  observer.observe(more);
}

document.addEventListener('DOMContentLoaded', () => {
  watchMore();
  if (document.getElementById('progress')) {
    setInterval(() => {
      refreshProgress();
      refreshTiles();
    }, 2000);
  }
});
