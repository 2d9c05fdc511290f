/**
 * Built-in chat templates (Jinja) for GGUFs that carry no `tokenizer.chat_template`.
 * Each renders `messages` (role/content), `add_generation_prompt`, and uses `bos_token`.
 */
export const BUILTIN_TEMPLATES: Record<string, string> = {
  chatml:
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
  llama3:
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
  llama2:
    "{% if messages[0]['role'] == 'system' %}{% set system = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% set messages = messages[1:] %}{% else %}{% set system = '' %}{% endif %}" +
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + (system if loop.first else '') + message['content'] | trim + ' [/INST]' }}" +
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}",
  gemma:
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first_prefix = messages[0]['content'] + '\\n\\n' %}{% set messages = messages[1:] %}{% else %}{% set first_prefix = '' %}{% endif %}" +
    "{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}" +
    "{{ '<start_of_turn>' + role + '\\n' + (first_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
  "deepseek-v3":
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}" +
    "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>' }}{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}",
};

/**
 * Pick a built-in template for a vocabulary without one, from the control tokens it has
 * (decided by metadata, not by model name).
 */
export function guessBuiltinTemplate(hasToken: (t: string) => boolean): string | undefined {
  if (hasToken("<|im_start|>") && hasToken("<|im_end|>")) return "chatml";
  if (hasToken("<|start_header_id|>") && hasToken("<|eot_id|>")) return "llama3";
  if (hasToken("<start_of_turn>") && hasToken("<end_of_turn>")) return "gemma";
  if (hasToken("<｜User｜>") && hasToken("<｜Assistant｜>")) return "deepseek-v3";
  if (hasToken("<s>") && hasToken("</s>")) return "llama2";
  return undefined;
}
