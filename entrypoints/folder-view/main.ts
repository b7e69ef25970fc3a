import { mount } from 'svelte';
import '@/components/theme.css';
import Placeholder from '@/components/Placeholder.svelte';
import { uiCall } from '@/components/ui-client';
import { embeddingOf, isAllowedEmbedding } from './embedder';

const target = document.getElementById('app')!;

async function start() {
  const origins = await uiCall('origins/list', {});
  const allowed = origins.ok && isAllowedEmbedding(embeddingOf(window), origins.result.origins);
  document.documentElement.dataset.embedding = allowed ? 'allowed' : 'refused';
  mount(Placeholder, {
    target,
    props: allowed
      ? {
          subtitle: 'Encrypted folder',
          title: 'End-to-end encrypted folder',
          text: 'The decrypted file list will appear here, drawn by Cipherfold and not by the web page.',
        }
      : {
          subtitle: 'Encrypted folder',
          title: 'Not available here',
          text: 'This Cipherfold view only works inside a Nextcloud you connected. Nothing was shown. Open your Nextcloud and try again.',
        },
  });
}

void start();
