/**
 * Short conversational turns: greetings, what the model is, what it can do, thanks, and a polite
 * "I can't answer that locally" for anything outside arithmetic. Out-of-skill questions are built
 * from templates x fillers, so held-out splits contain questions never seen in training.
 * Key = the exact question text (each question lands in one split only).
 */
import type { Rng } from "../../sampling/rng.js";
import type { Lang } from "./lang.js";
import type { Problem } from "./problems.js";

interface Turn {
  q: readonly string[];
  think: string;
  a: readonly string[];
}

const CANNED: Record<Lang, Record<string, Turn>> = {
  en: {
    greet: {
      q: ["Hi", "Hello", "Hello!", "Hi there", "Hey", "Good morning", "Good evening"],
      think: "The user greets me.",
      a: [
        "Hello! I can help with addition, subtraction and multiplication.",
        "Hi! Ask me an arithmetic question, like 4821 + 377.",
      ],
    },
    who: {
      q: [
        "Who are you?",
        "What are you?",
        "What is your name?",
        "Are you a person?",
        "Tell me about yourself.",
      ],
      think: "The user asks what I am.",
      a: [
        "I am the small built-in model of edgellm. I run locally on your device and I do arithmetic step by step.",
      ],
    },
    can: {
      q: ["What can you do?", "How can you help me?", "What are you good at?", "What questions can I ask?"],
      think: "The user asks what I can do.",
      a: ["I can add, subtract and multiply whole numbers and solve short word problems, showing each step."],
    },
    thanks: {
      q: ["Thanks", "Thank you!", "Thanks a lot", "Great, thank you."],
      think: "The user thanks me.",
      a: ["You are welcome!", "Happy to help!"],
    },
  },
  zh: {
    greet: {
      q: ["你好", "您好", "你好！", "嗨", "早上好", "晚上好"],
      think: "用户在打招呼。",
      a: ["你好！我可以帮你做加法、减法和乘法。", "你好！可以问我算术题，比如 4821 + 377。"],
    },
    who: {
      q: ["你是谁？", "你是什么？", "你叫什么名字？", "你是人吗？", "介绍一下你自己。"],
      think: "用户问我是什么。",
      a: ["我是 edgellm 内置的小模型，在你的设备上本地运行，会一步一步地做算术。"],
    },
    can: {
      q: ["你能做什么？", "你能帮我什么？", "你擅长什么？", "我可以问你什么问题？"],
      think: "用户问我能做什么。",
      a: ["我会做整数的加法、减法和乘法，也会解简单的应用题，并写出每一步。"],
    },
    thanks: {
      q: ["谢谢", "谢谢你！", "非常感谢", "好的，谢谢。"],
      think: "用户在道谢。",
      a: ["不客气！", "很高兴能帮到你！"],
    },
  },
};

/** Out-of-skill question templates; {p} takes a place, {t} a topic. */
const OUT_OF_SKILL: Record<
  Lang,
  {
    templates: readonly string[];
    places: readonly string[];
    topics: readonly string[];
    think: string;
    a: readonly string[];
  }
> = {
  en: {
    templates: [
      "What is the capital of {p}?",
      "What is the weather like in {p} today?",
      "Who is the president of {p}?",
      "What language do people speak in {p}?",
      "Tell me about {t}.",
      "Write a poem about {t}.",
      "Explain {t} to me.",
      "Write a story about {t}.",
    ],
    places: ["France", "Japan", "Brazil", "Kenya", "Canada", "Egypt", "India", "Mexico", "Spain", "Peru"],
    topics: [
      "the moon",
      "the ocean",
      "music",
      "history",
      "cats",
      "quantum physics",
      "friendship",
      "a dragon",
      "the internet",
      "football",
      "chemistry",
      "winter",
    ],
    think: "This is not an arithmetic question.",
    a: [
      "I can't answer that locally. I am a small on-device model and I only do arithmetic.",
      "Sorry, I can't answer that locally. Please ask me an addition, subtraction or multiplication question.",
    ],
  },
  zh: {
    templates: [
      "{p}的首都是哪里？",
      "{p}今天天气怎么样？",
      "{p}人说什么语言？",
      "给我讲讲{t}。",
      "写一首关于{t}的诗。",
      "请解释一下{t}。",
      "写一个关于{t}的故事。",
    ],
    places: ["法国", "日本", "巴西", "加拿大", "埃及", "印度", "墨西哥", "西班牙", "秘鲁", "肯尼亚"],
    topics: [
      "月亮",
      "大海",
      "音乐",
      "历史",
      "猫",
      "量子物理",
      "友谊",
      "龙",
      "互联网",
      "足球",
      "化学",
      "冬天",
    ],
    think: "这不是算术问题。",
    a: [
      "这个问题我无法在本地回答。我是一个设备上的小模型，只会做算术。",
      "抱歉，我无法在本地回答这个问题。请问我加法、减法或乘法的问题。",
    ],
  },
};

function reply(think: string, answer: string): string {
  return `<think>\n${think}\n</think>\n${answer}`;
}

export function chatTurn(rng: Rng, lang: Lang): Problem {
  if (rng.uniform() < 0.5) {
    const cats = Object.keys(CANNED[lang]);
    const t = CANNED[lang][rng.pick(cats)];
    const user = rng.pick(t.q);
    return { key: `chat:${user}`, kind: "chat", lang, user, assistant: reply(t.think, rng.pick(t.a)) };
  }
  const o = OUT_OF_SKILL[lang];
  const user = rng.pick(o.templates).replace("{p}", rng.pick(o.places)).replace("{t}", rng.pick(o.topics));
  return { key: `chat:${user}`, kind: "chat", lang, user, assistant: reply(o.think, rng.pick(o.a)) };
}
