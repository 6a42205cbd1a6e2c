/** New verification: NIK, name, date of birth, template and a selfie from a file or the camera. */
import { call, type VerdictRecord } from './api.ts';
import { byId, clearProblems, markInvalid, showProblem } from './dom.ts';
import { renderRecord } from './record-view.ts';

const readAsDataUrl = (blob: Blob) =>
  new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });

/** API issue paths that name a field of this form (anything else goes to the problem box). */
const FIELD_OF: Record<string, string> = {
  nik: 'nik',
  name: 'name',
  date_of_birth: 'date_of_birth',
  template_id: 'template_id',
  verification_id: 'verification_id',
  selfie_image: 'selfie_image',
};

export function setUpVerifyView(): void {
  const form = byId<HTMLFormElement>('verify-form');
  const fileInput = byId<HTMLInputElement>('selfie_image');
  const preview = byId<HTMLImageElement>('selfie-preview');
  const result = byId('verify-result');
  const busy = form.querySelector<HTMLElement>('.busy');
  const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  let selfie: Blob | null = null;
  let previewUrl: string | null = null;

  const showSelfie = (blob: Blob | null) => {
    selfie = blob;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = blob ? URL.createObjectURL(blob) : null;
    preview.hidden = previewUrl === null;
    if (previewUrl) preview.src = previewUrl;
    else preview.removeAttribute('src');
  };

  fileInput.addEventListener('change', () => showSelfie(fileInput.files?.[0] ?? null));
  setUpCamera((photo) => {
    fileInput.value = '';
    showSelfie(photo);
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblems(form);
    result.replaceChildren();
    const value = (id: string) =>
      (form.querySelector<HTMLInputElement>(`#${id}`)?.value ?? '').trim();
    // The API checks everything; the page only catches what would waste a round trip.
    let missing = false;
    for (const [id, label] of [
      ['nik', 'NIK'],
      ['name', 'Name'],
      ['date_of_birth', 'Date of birth'],
    ] as const) {
      if (value(id) === '') missing = markInvalid(form, id, `${label} is required`) || missing;
    }
    if (missing) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const body: Record<string, string> = {
      nik: value('nik'),
      name: value('name'),
      date_of_birth: value('date_of_birth'),
    };
    if (value('template_id')) body.template_id = value('template_id');
    if (value('verification_id')) body.verification_id = value('verification_id');
    if (submit) submit.disabled = true;
    if (busy) busy.textContent = 'Verifying…';
    try {
      if (selfie) body.selfie_image = await readAsDataUrl(selfie);
      const answer = await call<VerdictRecord>('POST', '/verifications', body);
      if (!answer.ok) {
        result.replaceChildren();
        showProblem(form, answer.problem, (path) => FIELD_OF[path] ?? null);
        return;
      }
      result.replaceChildren(renderRecord(answer.body));
      result.querySelector<HTMLElement>('h2')?.setAttribute('tabindex', '-1');
      result.querySelector<HTMLElement>('h2')?.focus();
    } finally {
      if (submit) submit.disabled = false;
      if (busy) busy.textContent = '';
    }
  });
}

/** The camera, when the browser has one and the person allows it: a still JPEG of the preview. */
function setUpCamera(onPhoto: (photo: Blob) => void): void {
  const start = byId<HTMLButtonElement>('camera-start');
  const panel = byId('camera-panel');
  const video = byId<HTMLVideoElement>('camera-video');
  const take = byId<HTMLButtonElement>('camera-take');
  const stop = byId<HTMLButtonElement>('camera-stop');
  const hint = byId('selfie_image-hint');
  let stream: MediaStream | null = null;

  if (!navigator.mediaDevices?.getUserMedia) {
    start.hidden = true;
    return;
  }
  const close = () => {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    start.hidden = false;
    start.focus();
  };
  start.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user' } });
    } catch {
      hint.textContent = 'The camera is not available (no camera, or not allowed): choose a file.';
      return;
    }
    video.srcObject = stream;
    panel.hidden = false;
    start.hidden = true;
    take.focus();
  });
  take.addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d')?.drawImage(video, 0, 0);
    canvas.toBlob(
      (blob) => {
        if (blob) onPhoto(blob);
        close();
      },
      'image/jpeg',
      0.92,
    );
  });
  stop.addEventListener('click', close);
}
