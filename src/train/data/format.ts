/**
 * ChatML rendering shared by training and the exported GGUF's chat template:
 *
 *   <|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n
 *
 * `chatSegments` splits a conversation into text pieces flagged `train` where the loss applies
 * (assistant content and its closing <|im_end|>, so the model learns to stop), for SFT masking.
 */

export const IM_START = "<|im_start|>";
export const IM_END = "<|im_end|>";
export const END_OF_TEXT = "<|endoftext|>";
export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export type Role = "system" | "user" | "assistant";
export interface Message {
  role: Role;
  content: string;
}

export interface Segment {
  text: string;
  /** true where next-token loss is computed (assistant output) */
  train: boolean;
}

/** Jinja chat template (ChatML) stored as tokenizer.chat_template; llama.cpp recognises it as chatml. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function chatSegments(messages: readonly Message[]): Segment[] {
  const out: Segment[] = [];
  for (const m of messages) {
    out.push({ text: `${IM_START}${m.role}\n`, train: false });
    if (m.role === "assistant") {
      out.push({ text: `${m.content}${IM_END}`, train: true });
      out.push({ text: "\n", train: false });
    } else {
      out.push({ text: `${m.content}${IM_END}\n`, train: false });
    }
  }
  return out;
}

export function renderChat(messages: readonly Message[]): string {
  return chatSegments(messages)
    .map((s) => s.text)
    .join("");
}
