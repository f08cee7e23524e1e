// The console's voice: a chime generated here (WebAudio, no sound file, works
// offline), a polite live region for screen readers, and a short toast.

const $ = (id) => document.getElementById(id);

let audio = null;
function unlockAudio() {
  if (audio || !window.AudioContext) return;
  try {
    audio = new AudioContext();
  } catch {
    audio = null;
  }
}
document.addEventListener("pointerdown", unlockAudio, { once: true });
document.addEventListener("keydown", unlockAudio, { once: true });

export function chime(urgent) {
  // Generated here (WebAudio): no sound file, works offline.
  if (!audio) return;
  const notes = urgent ? [880, 660, 880] : [660, 880];
  notes.forEach((frequency, index) => {
    const start = audio.currentTime + index * 0.18;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.17);
  });
}

export function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // NB: a fresh text node after a tick makes screen readers speak it even if repeated.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

let toastTimer = null;
export function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 5000);
}

// --- members ---------------------------------------------------------------------------
