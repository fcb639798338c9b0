/**
 * The voice vendors' keys, each with the cheapest documented call that proves it, at the base URL
 * the server would use: OpenAI retrieves the configured model (GET /v1/models/{model}), Deepgram
 * lists the key's projects (GET /v1/projects), ElevenLabs fetches the configured voice
 * (GET /v1/voices/{voice_id}). A vendor without a key is not a failure: the server falls back.
 * https://platform.openai.com/docs/api-reference/models/retrieve
 * https://developers.deepgram.com/reference/manage/projects/list
 * https://elevenlabs.io/docs/api-reference/voices/get
 */
import OpenAI from 'openai';
import type { Config } from '../../config.js';
import { deepgramAuthHeaders, deepgramBaseUrl } from '../../providers/deepgram/deepgram-stt.js';
import { DEFAULT_VOICE_ID, elevenLabsAuthHeaders, elevenLabsHttpBase } from '../../providers/elevenlabs/elevenlabs-tts.js';
import { openAiClient } from '../../providers/openai/openai-llm.js';
import { fail, ok, skip, warn } from './report.js';
import type { DoctorCheck } from './run-checks.js';

export function openAiCheck(openai: Config['openai']): DoctorCheck {
  const name = 'openai';
  return {
    name,
    async run(signal) {
      if (openai.apiKey === undefined) return [skip(name, 'OPENAI_API_KEY not set: the offline scheduling assistant answers (rule-based)')];
      const client = openAiClient(openai.apiKey, openai.baseUrl);
      try {
        await client.models.retrieve(openai.model, { signal });
        return [ok(name, `key valid; model ${openai.model} available`)];
      } catch (error) {
        if (signal.aborted) throw error;
        // The SDK's messages quote OpenAI's, which echo part of a wrong key: only the status is used.
        const status = error instanceof OpenAI.APIError ? error.status : undefined;
        if (status === 401) return [fail(name, 'OpenAI refused the key (HTTP 401)', 'check OPENAI_API_KEY')];
        if (status === 403) return [fail(name, 'the key may not use the API (HTTP 403: project, region or permissions)', 'check the key\'s project and permissions')];
        if (status === 404) {
          return [fail(name, `key valid, but model ${openai.model} is not available to it`, 'set OPENAI_MODEL to a chat model the key can use, such as gpt-4o-mini')];
        }
        return [fail(name, status === undefined ? 'OpenAI unreachable' : `OpenAI answered HTTP ${status}`, openai.baseUrl === undefined ? undefined : 'check OPENAI_BASE_URL')];
      }
    },
  };
}

export function deepgramCheck(deepgram: Config['deepgram']): DoctorCheck {
  const name = 'deepgram';
  return {
    name,
    async run(signal) {
      if (deepgram.apiKey === undefined) return [skip(name, 'DEEPGRAM_API_KEY not set: typed turns only (no speech to text)')];
      const base = deepgramBaseUrl(deepgram.baseUrl, 'http');
      const response = await vendorGet(`${base}/v1/projects`, deepgramAuthHeaders(deepgram.apiKey), signal);
      if (response === undefined) return [fail(name, 'Deepgram unreachable', deepgram.baseUrl === undefined ? undefined : 'check DEEPGRAM_BASE_URL')];
      if (response.status === 401 || response.status === 403) return [fail(name, `Deepgram refused the key (HTTP ${response.status})`, 'check DEEPGRAM_API_KEY')];
      if (response.status !== 200) return [fail(name, `Deepgram answered HTTP ${response.status}`)];
      const projects = Array.isArray((response.body as { projects?: unknown })?.projects) ? (response.body as { projects: unknown[] }).projects.length : 0;
      return [ok(name, `key valid (${projects} project${projects === 1 ? '' : 's'}); model ${deepgram.model}`)];
    },
  };
}

export function elevenLabsCheck(elevenlabs: Config['elevenlabs']): DoctorCheck {
  const name = 'elevenlabs';
  return {
    name,
    async run(signal) {
      if (elevenlabs.apiKey === undefined) return [skip(name, 'ELEVENLABS_API_KEY not set: espeak-ng speaks if installed, else text only')];
      const voiceId = elevenlabs.voiceId ?? DEFAULT_VOICE_ID;
      const base = elevenLabsHttpBase(elevenlabs.baseUrl);
      const response = await vendorGet(`${base}/v1/voices/${encodeURIComponent(voiceId)}`, elevenLabsAuthHeaders(elevenlabs.apiKey), signal);
      if (response === undefined) return [fail(name, 'ElevenLabs unreachable', elevenlabs.baseUrl === undefined ? undefined : 'check ELEVENLABS_BASE_URL')];
      const detail = (response.body as { detail?: { status?: unknown } } | undefined)?.detail?.status;
      if (response.status === 200) {
        const voiceName = (response.body as { name?: unknown } | undefined)?.name;
        return [ok(name, `key valid; voice ${typeof voiceName === 'string' ? `${voiceName} ` : ''}(${voiceId})`)];
      }
      if (detail === 'missing_permissions') {
        return [warn(name, 'the key may not read voices, so the voice could not be checked', 'give the key the "Voices: read" permission, or check ELEVENLABS_VOICE_ID by hand')];
      }
      if (response.status === 401) return [fail(name, 'ElevenLabs refused the key (HTTP 401)', 'check ELEVENLABS_API_KEY')];
      if (detail === 'voice_not_found' || detail === 'voice_does_not_exist' || response.status === 404) {
        return [fail(name, `key valid, but voice ${voiceId} is not in this account`, 'set ELEVENLABS_VOICE_ID to a voice in your ElevenLabs library')];
      }
      return [fail(name, `ElevenLabs answered HTTP ${response.status}`)];
    },
  };
}

/** A GET whose answer is status + parsed JSON; undefined when nothing answered. */
async function vendorGet(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; body: unknown } | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}
