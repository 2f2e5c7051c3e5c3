import { createRoot } from "react-dom/client";
import { App } from "./App";
import { language, loadLanguage } from "./i18n";
import "./styles.css";

document.documentElement.lang = language();
// The first render waits for the language's catalogue (a chunk of its own unless English): no flash of English.
void loadLanguage(language())
  .catch(() => {})
  .finally(() => createRoot(document.getElementById("root")!).render(<App />));
